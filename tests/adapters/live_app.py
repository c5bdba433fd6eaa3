"""`live_app:client`, the target of ``triggerfish dev`` in the subprocess tests.

Configured by TRIGGERFISH_* variables (Client.from_env), with the jobs of live_jobs.py.
"""

from __future__ import annotations

from live_jobs import define_jobs
from triggerfish.core import Client

client = define_jobs(Client.from_env("live"))
