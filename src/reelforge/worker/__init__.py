"""Workers: claim jobs with leases, run engines, write media, survive crashes."""

from reelforge.worker.runner import Worker
from reelforge.worker.supervisor import WorkerSupervisor

__all__ = ["Worker", "WorkerSupervisor"]
