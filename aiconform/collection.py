"""The collection's generated files: ``python -m aiconform.collection bundle|options [--check]``.

``plugins/module_utils/_bundled_data.py`` holds the data files modules read (probe manifests, the requirement
catalog, versions.yml; see ``plugins/module_utils/datafiles.py``), because Ansible ships module_utils to a module
as Python only. Regenerate it after changing one of those files; ``--check`` exits 1 when it is stale.

``options`` regenerates what derives from the verifiers' declarations, plugins/module_utils/verifiers/<id>/verifier.yml
(aiconform/verifier_options.py): the verify_<id> modules, their option documentation, the verify plan, the sample
inventory's verify_*.yml, and the bundle (which holds verifier.yml for modules).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiconform import PROJECT_ROOT, datafiles

BUNDLE = PROJECT_ROOT / "plugins" / "module_utils" / "_bundled_data.py"


def bundle(root: Path = PROJECT_ROOT) -> str:
    return datafiles.bundle_source(str(root))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aiconform.collection", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bundle", help="regenerate plugins/module_utils/_bundled_data.py")
    b.add_argument("--check", action="store_true", help="exit 1 when the bundle differs from the files")
    o = sub.add_parser("options", help="regenerate the option docs, verify plan and sample inventory from OPTIONS")
    o.add_argument("--check", action="store_true", help="exit 1 when a generated file is stale")
    args = parser.parse_args(argv)
    if args.command == "options":
        return _options(args.check)
    source = bundle()
    current = BUNDLE.read_text(encoding="utf-8") if BUNDLE.exists() else ""
    if args.check:
        if current != source:
            print(f"{BUNDLE.relative_to(PROJECT_ROOT)} is stale: run python -m aiconform.collection bundle",
                  file=sys.stderr)
            return 1
        print(f"{BUNDLE.relative_to(PROJECT_ROOT)} is current")
        return 0
    if current != source:
        BUNDLE.write_text(source, encoding="utf-8")
        print(f"wrote {BUNDLE.relative_to(PROJECT_ROOT)} ({len(source)} bytes)")
    else:
        print(f"{BUNDLE.relative_to(PROJECT_ROOT)} is current")
    return 0


def _options(check: bool) -> int:
    from aiconform import verifier_options

    if check:
        code, message = verifier_options.check()
        print(message, file=sys.stderr if code else sys.stdout)
        return code
    try:
        written = verifier_options.write()
    except verifier_options.DeclarationError as exc:
        print(f"invalid verifier.yml: {exc}", file=sys.stderr)
        return 1
    for line in written or ["files generated from the verifiers' verifier.yml are current"]:
        print(line)
    # verifier.yml is also bundled for modules (OPTIONS are read from it where they run)
    return main(["bundle"])


if __name__ == "__main__":
    sys.exit(main())
