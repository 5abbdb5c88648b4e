"""One torch thread in tests: fast on 2 shared cores and free of thread-count effects.

Ctrl-C as an interactive process has it: a run started in the background (``nohup``, ``&`` in a
script) inherits SIGINT ignored, and the tests that press Ctrl-C (here and in the ranks they
start, which inherit the disposition) would have nothing to press.
"""

import signal

import torch

torch.set_num_threads(1)
signal.signal(signal.SIGINT, signal.default_int_handler)
