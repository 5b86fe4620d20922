"""Worker processes that die with their parent.

A pool's workers block on their task queue; when the stage's main process is killed (SIGKILL, OOM killer, a
cluster's time limit) nobody tells them, so they live on as orphans holding memory and open files. On Linux,
``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks the kernel to kill a process when its parent exits; call
:func:`die_with_parent` first thing in every pool initializer. (Under forkserver the parent is the fork server,
which itself exits when the main process's end of its "alive" pipe closes, so the chain holds.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> bool:
    """Have the kernel SIGKILL this process when its parent exits. Returns False where the platform cannot
    (not Linux); then an orphan is still possible, as before."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    # the parent may have died between fork and prctl: then we are already an orphan (reparented)
    if os.getppid() == 1:
        os._exit(1)
    return True
