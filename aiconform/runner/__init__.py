"""``aiconform run``: conformance.yml through ansible-runner, with live progress and CI exit codes.

The playbook stays the only code path; this package adds progress, a summary, exit codes and fleets.
Importing it is cheap: ansible_runner is imported when a run starts.
"""
