"""Per-element operation counts: the one place the counting conventions for non-MAC work live.

Convention: primitive arithmetic operations per output element, where exp, log, tanh, erf, sqrt and a
comparison/select each count as one op. These are bookkeeping conventions, not instruction counts; the
efficiency factors in a device profile absorb how fast a runtime really executes each family.
"""
from __future__ import annotations

# ONNX (ai.onnx and com.microsoft) element-wise ops → ops per output element.
ONNX_ELEMENTWISE: dict[str, int] = {
    # binary arithmetic / comparison / logic: one op each
    **dict.fromkeys(
        ["Add", "Sub", "Mul", "Div", "Pow", "Mod", "BitShift", "And", "Or", "Xor", "Equal", "Greater",
         "GreaterOrEqual", "Less", "LessOrEqual", "Where", "BitwiseAnd", "BitwiseOr", "BitwiseXor"], 1),
    # unary: one op each
    **dict.fromkeys(
        ["Neg", "Abs", "Relu", "Sqrt", "Reciprocal", "Exp", "Log", "Floor", "Ceil", "Round", "Sign", "Not",
         "Tanh", "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
         "IsNaN", "IsInf", "BitwiseNot", "Cast", "CastLike", "ThresholdedRelu"], 1),
    "Clip": 2,  # min + max
    "LeakyRelu": 2,  # multiply + select
    "PRelu": 2,
    "Shrink": 2,
    "Elu": 3,  # exp, subtract, select (scale folded)
    "Celu": 4,
    "Selu": 4,
    "Softplus": 3,  # exp, add, log
    "Softsign": 3,  # abs, add, divide
    "Sigmoid": 4,  # negate, exp, add, divide
    "HardSigmoid": 4,  # multiply, add, min, max
    "HardSwish": 5,  # hard-sigmoid + multiply
    "Swish": 5,  # sigmoid + multiply
    "Mish": 5,  # softplus (3) + tanh + multiply
    "Gelu": 5,  # x * 0.5 * (1 + erf(x / sqrt 2)): divide, erf, add, multiply, multiply
    "QuickGelu": 5,  # com.microsoft: x * sigmoid(1.702 x)
    "FastGelu": 8,  # com.microsoft tanh approximation
    "BiasGelu": 6,  # com.microsoft: bias add + gelu
    "QuantizeLinear": 3,  # divide by scale, round, add zero point (saturation folded)
    "DequantizeLinear": 2,  # subtract zero point, multiply by scale
    "DynamicQuantizeLinear": 5,  # min/max scan (2) + quantize (3)
    "QLinearAdd": 3,  # com.microsoft: add + requantize
    "QLinearMul": 3,
    "QLinearSigmoid": 6,
    "QLinearLeakyRelu": 4,
}

# Normalization and softmax: ops per element of the (first) input.
ONNX_NORMALIZATION: dict[str, int] = {
    "BatchNormalization": 2,  # inference: per-channel scale and shift precomputed, multiply + add per element
    "InstanceNormalization": 7,  # mean, subtract, square, variance, normalize, scale, shift
    "LayerNormalization": 7,
    "GroupNormalization": 7,
    "SkipLayerNormalization": 8,  # com.microsoft: residual add + layer norm
    "SimplifiedLayerNormalization": 5,  # RMS norm: square, mean, rsqrt-multiply, scale (+1 for rsqrt)
    "SkipSimplifiedLayerNormalization": 6,
    "RMSNormalization": 5,
    "LpNormalization": 3,
    "MeanVarianceNormalization": 6,
}

ONNX_SOFTMAX: dict[str, int] = {
    "Softmax": 5,  # max, subtract, exp, sum, divide
    "LogSoftmax": 5,
    "Hardmax": 1,
    "QLinearSoftmax": 7,
}

# Reductions: (ops per input element, ops per output element).
ONNX_REDUCE: dict[str, tuple[int, int]] = {
    "ReduceSum": (1, 0), "ReduceMax": (1, 0), "ReduceMin": (1, 0), "ReduceProd": (1, 0),
    "ReduceMean": (1, 1), "ReduceL1": (2, 0), "ReduceL2": (2, 1), "ReduceSumSquare": (2, 0),
    "ReduceLogSum": (1, 1), "ReduceLogSumExp": (2, 1), "ArgMax": (1, 0), "ArgMin": (1, 0),
    "CumSum": (1, 0), "TopK": (1, 0),
}

# No arithmetic, but the bytes still move (or at least get touched).
ONNX_DATA_MOVEMENT = frozenset({
    "Concat", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Gather", "GatherElements",
    "GatherND", "Slice", "Split", "Pad", "Tile", "Expand", "DepthToSpace", "SpaceToDepth", "Identity",
    "Dropout", "Shape", "Size", "ConstantOfShape", "Range", "ScatterND", "ScatterElements", "Trilu",
    "ReverseSequence", "EyeLike", "OneHot", "Compress", "NonZero", "QLinearConcat", "SequenceAt",
    "Col2Im", "CenterCropPad", "Optional", "OptionalGetElement",
})

# Ops that read only their input's shape, never its data.
METADATA_OPS = frozenset({"Shape", "Size", "SHAPE", "RANK"})

ONNX_CONTROL_FLOW = frozenset({"If", "Loop", "Scan"})

ONNX_NONDETERMINISTIC = frozenset({
    "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli",
})

# TFLite builtin element-wise ops → ops per output element.
TFLITE_ELEMENTWISE: dict[str, int] = {
    **dict.fromkeys(
        ["ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "POW", "FLOOR_DIV", "FLOOR_MOD", "EQUAL",
         "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "LOGICAL_AND", "LOGICAL_OR",
         "SELECT", "SELECT_V2", "BITWISE_XOR", "RIGHT_SHIFT", "ATAN2"], 1),
    **dict.fromkeys(
        ["NEG", "ABS", "RELU", "EXP", "LOG", "SQRT", "RSQRT", "SQUARE", "SIN", "COS", "FLOOR", "CEIL",
         "ROUND", "SIGN", "LOGICAL_NOT", "TANH", "CAST"], 1),
    "SQUARED_DIFFERENCE": 2,
    "RELU6": 2,
    "RELU_N1_TO_1": 2,
    "RELU_0_TO_1": 2,
    "LEAKY_RELU": 2,
    "PRELU": 2,
    "ELU": 3,
    "LOGISTIC": 4,
    "HARD_SWISH": 5,
    "GELU": 5,
    "QUANTIZE": 3,
    "DEQUANTIZE": 2,
}

TFLITE_NORMALIZATION: dict[str, int] = {
    "L2_NORMALIZATION": 3,
    "LOCAL_RESPONSE_NORMALIZATION": 7,
}

TFLITE_SOFTMAX: dict[str, int] = {"SOFTMAX": 5, "LOG_SOFTMAX": 5}

TFLITE_REDUCE: dict[str, tuple[int, int]] = {
    "MEAN": (1, 1), "SUM": (1, 0), "REDUCE_MAX": (1, 0), "REDUCE_MIN": (1, 0), "REDUCE_PROD": (1, 0),
    "REDUCE_ANY": (1, 0), "REDUCE_ALL": (1, 0), "ARG_MAX": (1, 0), "ARG_MIN": (1, 0), "CUMSUM": (1, 0),
    "TOPK_V2": (1, 0),
}

TFLITE_DATA_MOVEMENT = frozenset({
    "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONCATENATION", "TRANSPOSE", "PAD", "PADV2", "MIRROR_PAD",
    "GATHER", "GATHER_ND", "SLICE", "STRIDED_SLICE", "SPLIT", "SPLIT_V", "PACK", "UNPACK", "SPACE_TO_DEPTH",
    "DEPTH_TO_SPACE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "TILE", "BROADCAST_TO", "SHAPE", "RANK",
    "FILL", "ZEROS_LIKE", "ONES_LIKE", "REVERSE_V2", "EMBEDDING_LOOKUP", "SCATTER_ND", "RANGE",
    "BROADCAST_ARGS", "WHERE", "DENSIFY", "ONE_HOT",
})

TFLITE_CONTROL_FLOW = frozenset({"WHILE", "IF", "CALL_ONCE", "CALL"})

# TFLite fused activation (ActivationFunctionType) → ops per output element.
TFLITE_FUSED_ACTIVATION: dict[int, int] = {0: 0, 1: 1, 2: 2, 3: 2, 4: 1, 5: 1}
