"""Numbers that a generic kernel (arrayloss/_lib/_primitives.py) and its native versions here
must share to give the same values. No imports: every layer may read it."""

# log_cosh: past |d| = 40, log cosh d = log cosh 40 + (|d| - 40) to within e^-80; in the
# generic formula e^-40 squared also stays a normal float32 (it divides by e^-c).
LOG_COSH_CLIP = 40.0
# Up to this many values, value_range reads them into Python and takes min and max there
# (cheaper than two reductions and two scalar reads).
SMALL_RANGE = 16
