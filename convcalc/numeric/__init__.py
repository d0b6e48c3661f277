"""The NumPy executor: real tensors through the same layers, to prove the analytic numbers.

This is the only package that imports numpy, and only the commands that execute import
it, so `convcalc shape` never pays for numpy.  Kernels are registered per layer family in
`kernels.KERNELS`, keyed by class like the counting conventions; a family without a
kernel is named by `kernels.missing()` and fails the exhaustiveness test.
"""
