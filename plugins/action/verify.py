"""Action plugin of the ``verify`` module: a private progress directory, then the module (async or not).

With a local connection (the normal case: the hosts are clusters, reached from the controller), the module
writes each requirement's result into a 0700 temporary directory as soon as it is known, and the
``verify_status`` action reads it there; on other connections results arrive when the whole job ends.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        plans = args.get("requirements")
        if not isinstance(plans, Mapping):
            raise AnsibleActionFail("requirements must be a mapping of requirement id to options, "
                                    f"got {type(plans).__name__}")
        local = self._connection.transport == "local"
        progress_dir = tempfile.mkdtemp(prefix="aiconform-verify-") if local else None  # mkdtemp: mode 0700
        if progress_dir:
            args["progress_dir"] = progress_dir
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        started_at = time.time()
        try:
            result = merge_hash(result, self._execute_module(module_args=args, task_vars=task_vars,
                                                             wrap_async=wrap_async))
        except BaseException:
            if progress_dir:
                shutil.rmtree(progress_dir, ignore_errors=True)
            raise
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
            if progress_dir:  # the job is over: its result carries every requirement
                shutil.rmtree(progress_dir, ignore_errors=True)
                progress_dir = None
        elif not result.get("ansible_job_id") and progress_dir:  # the job never started
            shutil.rmtree(progress_dir, ignore_errors=True)
            progress_dir = None
        result["requirements"] = [str(r) for r in plans]
        result["progress_dir"] = progress_dir
        result["started_at"] = started_at  # verify_status measures its timeout from here, not per loop item
        return result
