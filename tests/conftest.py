"""One torch thread in tests: fast on 2 shared cores and free of thread-count effects."""

import torch

torch.set_num_threads(1)
