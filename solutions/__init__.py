"""The course's reference library: the code every grade is measured against.

One module per topic, in teaching order. NumPy layers follow CS231n's contract:
``*_forward(x, ...) -> (out, cache)`` and ``*_backward(dout, cache) -> grads`` in the
order of the forward's inputs.
"""
