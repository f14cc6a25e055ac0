"""Prints one JSON line: interpreter, package versions and the BLAS/OpenMP kernels in use."""
import json

from common import runtime_info

print(json.dumps(runtime_info()))
