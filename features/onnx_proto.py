"""The two bits of the ONNX file format stemline needs, without the ``onnx`` package.

An ``.onnx`` file is a protocol-buffers ``ModelProto`` (schema: ``onnx/onnx.proto``). stemline
runs the basic-pitch network layer by layer on CPUs (:mod:`features.basic_pitch_layers`), which
needs (1) the weights of the published model and (2) small one-layer models for the layers that
ONNX Runtime's convolution kernels compute best. Both are a few dozen lines of the wire format,
so the ``onnx`` package (and protobuf) is not a dependency.

**Reading weights** (:func:`read_initializers`) decodes exactly the part that holds them:

- ``ModelProto.graph`` (field 7) is a ``GraphProto``; ``GraphProto.initializer`` (field 5,
  repeated) are ``TensorProto`` messages;
- a ``TensorProto`` has ``dims`` (field 1, int64, packed or not), ``data_type`` (field 2),
  ``name`` (field 8) and its values either in ``raw_data`` (field 9, little-endian bytes) or in
  the typed field of its type (``float_data`` 4, ``int32_data`` 5, ``int64_data`` 7,
  ``double_data`` 10);
- every other field is skipped by its wire type. Tensors stored outside the file
  (``data_location`` EXTERNAL) are refused.

The model file's sha256 is checked before it is read (:mod:`wheelfiles`).

**Writing a convolution** (:func:`conv_model`) encodes a ``ModelProto`` (IR version 8, opset 15)
with one ``Conv`` node, its weight and bias as float32 initializers, optionally followed by a
``Relu``, on an NCHW input with a symbolic batch, height and width.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: ``TensorProto.DataType`` -> numpy dtype, for the types this reader accepts.
DATA_TYPES = {
    1: np.dtype("<f4"),
    6: np.dtype("<i4"),
    7: np.dtype("<i8"),
    11: np.dtype("<f8"),
}
#: ``TensorProto`` field numbers of the typed value lists, by data type.
TYPED_FIELDS = {1: 4, 6: 5, 7: 7, 11: 10}


class OnnxFormatError(ValueError):
    """The file is not an ONNX model this reader understands."""


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; returns ``(value, next position)``."""
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise OnnxFormatError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise OnnxFormatError("varint longer than 64 bits")


def _fields(data: memoryview):
    """``(field number, wire type, value)`` of every field of one message; the value is an int
    for varints and a ``memoryview`` for the other wire types."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise OnnxFormatError(f"unsupported wire type {wire} (field {number})")
        if pos > len(data):
            raise OnnxFormatError(f"field {number} runs past the end of its message")
        yield number, wire, value


def _packed_varints(value, wire: int) -> list[int]:
    """The integers of a repeated varint field occurrence (packed or a single element)."""
    if wire == 0:
        return [value]
    out, pos = [], 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        out.append(item)
    return out


def _tensor(message: memoryview) -> tuple[str, np.ndarray]:
    """Name and values of one ``TensorProto``."""
    name, dims, data_type, raw, typed = "", [], 1, None, []
    for number, wire, value in _fields(message):
        if number == 1:
            dims.extend(_packed_varints(value, wire))
        elif number == 2:
            data_type = value
        elif number == 8:
            name = bytes(value).decode("utf-8")
        elif number == 9:
            raw = bytes(value)
        elif number == 14 and value == 1:
            raise OnnxFormatError(f"tensor {name!r} is stored outside the model file")
        elif number in TYPED_FIELDS.values():
            typed.append((number, wire, value))
    if data_type not in DATA_TYPES:
        raise OnnxFormatError(f"tensor {name!r} has unsupported data type {data_type}")
    dtype = DATA_TYPES[data_type]
    dims = [d - (1 << 64) if d >= 1 << 63 else d for d in dims]
    if raw is not None:
        values = np.frombuffer(raw, dtype=dtype)
    elif dtype.kind == "f":
        chunks = [bytes(v) for n, _, v in typed if n == TYPED_FIELDS[data_type]]
        values = np.frombuffer(b"".join(chunks), dtype=dtype)
    else:
        field = TYPED_FIELDS[data_type]
        ints = [i for n, w, v in typed if n == field for i in _packed_varints(v, w)]
        values = np.array([i - (1 << 64) if i >= 1 << 63 else i for i in ints], dtype=dtype)
    if values.size != int(np.prod(dims, dtype=np.int64)):
        raise OnnxFormatError(f"tensor {name!r}: {values.size} values for dims {dims}")
    return name, values.reshape(dims).astype(dtype.newbyteorder("="), copy=True)


def read_initializers(path: Path) -> dict[str, np.ndarray]:
    """Every initializer of the ONNX model at ``path``, by name.

    Raises
    ------
    OnnxFormatError
        If the file has no graph, or a tensor cannot be read.
    """
    data = memoryview(Path(path).read_bytes())
    graphs = [value for number, wire, value in _fields(data) if number == 7 and wire == 2]
    if len(graphs) != 1:
        raise OnnxFormatError(f"{path}: expected one graph, found {len(graphs)}")
    tensors = {}
    for number, wire, value in _fields(graphs[0]):
        if number == 5 and wire == 2:
            name, array = _tensor(value)
            tensors[name] = array
    return tensors


def _key(number: int, wire: int) -> bytes:
    return _encode_varint((number << 3) | wire)


def _encode_varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _int_field(number: int, value: int) -> bytes:
    return _key(number, 0) + _encode_varint(value)


def _bytes_field(number: int, value: bytes | str) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return _key(number, 2) + _encode_varint(len(data)) + data


def _tensor_proto(name: str, array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype="<f4")
    dims = b"".join(_int_field(1, d) for d in array.shape)
    return dims + _int_field(2, 1) + _bytes_field(8, name) + _bytes_field(9, array.tobytes())


def _value_info(name: str, channels: int) -> bytes:
    """A float tensor ``(n, channels, h, w)`` with symbolic ``n``, ``h`` and ``w``."""
    symbolic = [_bytes_field(2, dim_name) for dim_name in ("n", "h", "w")]
    dims = [symbolic[0], _int_field(1, channels), *symbolic[1:]]
    shape = b"".join(_bytes_field(1, dim) for dim in dims)
    tensor_type = _int_field(1, 1) + _bytes_field(2, shape)
    return _bytes_field(1, name) + _bytes_field(2, _bytes_field(1, tensor_type))


def _ints_attribute(name: str, values: tuple[int, ...]) -> bytes:
    return _bytes_field(1, name) + _int_field(20, 7) + b"".join(_int_field(8, v) for v in values)


def _node(op_type: str, inputs: list[str], outputs: list[str], attributes: bytes = b"") -> bytes:
    fields = [_bytes_field(1, i) for i in inputs] + [_bytes_field(2, o) for o in outputs]
    return b"".join(fields) + _bytes_field(4, op_type) + attributes


def conv_model(
    weight: np.ndarray,
    bias: np.ndarray,
    pads: tuple[int, int, int, int],
    strides: tuple[int, int] = (1, 1),
    *,
    relu: bool = False,
) -> bytes:
    """Bytes of an ONNX model computing one 2-D convolution (``x`` -> ``y``), ReLU optional.

    Parameters
    ----------
    weight : numpy.ndarray
        ``(out, in, kh, kw)`` kernels.
    bias : numpy.ndarray
        ``(out,)``.
    pads : tuple of int
        ``(top, left, bottom, right)`` zero padding, as ONNX ``Conv`` orders it.
    strides : tuple of int
        ``(vertical, horizontal)``.
    relu : bool
        Apply ``Relu`` to the convolution.
    """
    out_channels, in_channels, kh, kw = weight.shape
    attributes = b"".join(
        _bytes_field(5, attribute)
        for attribute in (
            _ints_attribute("kernel_shape", (kh, kw)),
            _ints_attribute("pads", tuple(pads)),
            _ints_attribute("strides", tuple(strides)),
        )
    )
    conv_out = "z" if relu else "y"
    nodes = [_node("Conv", ["x", "w", "b"], [conv_out], attributes)]
    if relu:
        nodes.append(_node("Relu", ["z"], ["y"]))
    graph = b"".join(
        [
            *(_bytes_field(1, node) for node in nodes),
            _bytes_field(2, "layer"),
            _bytes_field(5, _tensor_proto("w", weight)),
            _bytes_field(5, _tensor_proto("b", bias)),
            _bytes_field(11, _value_info("x", in_channels)),
            _bytes_field(12, _value_info("y", out_channels)),
        ]
    )
    opset = _bytes_field(1, "") + _int_field(2, 15)
    return (
        _int_field(1, 8)
        + _bytes_field(2, "stemline")
        + _bytes_field(7, graph)
        + _bytes_field(8, opset)
    )
