"""Element sizes for memory figures, by PyTorch dtype name."""

DTYPE_BYTES = {"float16": 2, "half": 2, "bfloat16": 2, "float32": 4, "float": 4, "float64": 8,
               "double": 8, "int8": 1, "uint8": 1, "int16": 2, "short": 2, "int32": 4, "int": 4,
               "int64": 8, "long": 8, "bool": 1, "complex64": 8, "complex128": 16}
