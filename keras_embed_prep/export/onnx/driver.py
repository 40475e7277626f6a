"""``export(model, path, format="onnx")``: tf2onnx driven through its own API, then checked before writing.

The repairs are in ``handlers``, the kept inference-time checks in ``gates``, the parity check in
``parity`` (onnxruntime) and ``..probes`` (shared with LiteRT).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
from collections import Counter
from pathlib import Path

import tensorflow as tf

from ...blocks.checks import check_reasons
from ...blocks.tokens import TextBag
from ...errors import ExportError, MissingDependencyError
from ...verify import ParityReport
from ...walk import layers_by_path
from .. import probes
from . import gates, handlers, parity, tidy

#: ONNX opset of ``format="onnx"`` (the highest tf2onnx 1.17 writes is 18).
ONNX_OPSET = 17


def _import_optional(name: str):
    """Import an optional dependency (a seam for tests that simulate its absence)."""
    return importlib.import_module(name)


def _onnx_tools():
    """``(onnx, onnxruntime)`` once tf2onnx imports too, or MissingDependencyError: what to install."""
    modules = []
    for name in ("tf2onnx", "onnx", "onnxruntime"):
        try:
            modules.append(_import_optional(name))
        except ImportError as exc:
            raise MissingDependencyError(
                f"export(format='onnx') needs tf2onnx, onnx and onnxruntime; importing {name!r} failed "
                f"({exc}). Install them with: pip install keras-embed-prep[onnx]"
            ) from exc
    return modules[1], modules[2]


def export_onnx(model, path: Path, *, sample, rtol: float, atol: float) -> ParityReport:
    """Convert ``model``, check the ONNX file against it, and write the file only if it passes."""
    _refuse_text(model)
    onnx, ort = _onnx_tools()
    # Converted with the network's boundary as extra outputs, so the check sees both parts of the
    # very graph that is written (the extra outputs are dropped before writing). The Keras side
    # first: tf2onnx's freezing leaves the traced function unusable.
    keras_side = probes.keras_side(model, sample)
    split, checked, concrete = keras_side.split, keras_side.checked, keras_side.concrete
    accepted, rejected, expected = keras_side.accepted, keras_side.rejected, keras_side.expected

    proto, log, checks = _tf2onnx_convert(checked, concrete)
    _refuse_unconverted(onnx, proto, log)
    proto = _tidy(onnx, ort, model, proto, log)
    session = _session(onnx, ort, model, proto, log)
    report = parity.onnx_parity(model, session, accepted, expected, split=split, rtol=rtol, atol=atol)
    parity.check_rejections(model, session, rejected, checks)
    proto = parity.without_boundary(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(proto.SerializeToString())
    return report


def _refuse_text(model) -> None:
    """Text vectorizers are refused: ONNX has no exact counterpart of their Unicode string steps."""
    text = [path for path, layer in layers_by_path(model).items() if isinstance(layer, TextBag)]
    if text:
        raise ExportError(
            f"export(format='onnx') does not convert text vectorizers (layer {text[0]!r}, a TextBag): "
            "ONNX string ops (RegexFullMatch, StringNormalizer) cannot reproduce Python's Unicode "
            "tokens and str.lower() exactly. Export a SavedModel (the default format) instead."
        )


def _tidy(onnx, ort, model, proto, log: list[str]):
    """The graph with fewer nodes (``tidy``), checked by onnx first; ExportError if rejected."""
    try:
        onnx.checker.check_model(proto)
        proto = tidy.ort_basic(ort, onnx, tidy.gather_wraps(tidy.stack_inputs(proto)))
    except Exception as exc:  # any rejection of the graph, reported with what tf2onnx logged
        raise _rejected(model, exc, log) from exc
    _refuse_unconverted(onnx, proto, log)  # the optimized graph is standard ONNX too
    return proto


def _session(onnx, ort, model, proto, log: list[str]):
    """An onnxruntime session of ``proto``, or ExportError if onnx or onnxruntime rejects the graph."""
    try:
        onnx.checker.check_model(proto)
        options = ort.SessionOptions()
        options.log_severity_level = 4  # the rows that must fail would log each failure as an error
        return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # any rejection of the graph, reported with what tf2onnx logged
        raise _rejected(model, exc, log) from exc


def _rejected(model, exc: Exception, log: list[str]) -> ExportError:
    return ExportError(
        f"The ONNX graph of {model.name!r} converted but onnx or onnxruntime rejects it "
        f"({type(exc).__name__}: {probes.first_line(exc)}). Nothing was written.{_log_tail(log)}"
    )


class _Log(logging.Handler):
    """Collects tf2onnx's log records of level WARNING and above."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage().splitlines()[0][:300])


def _tf2onnx_convert(model, concrete):
    """The ONNX proto of ``concrete`` and tf2onnx's warnings and errors.

    tf2onnx's public ``from_function`` cannot convert these graphs: it loses the lookup
    tables, and its fallback shape inference crashes on a lookup output whose shape
    TensorFlow leaves unknown. So this is ``from_keras`` by hand: freeze with the tables
    (``tf_loader.from_trackable``), give each lookup output its keys' shape, convert with
    the op handlers and rewrites of ``handlers``, optimize.
    """
    internal = {id(t) for t in concrete.graph.internal_captures}
    input_names = [t.name for t in concrete.inputs if id(t) not in internal]
    output_names = [t.name for t in concrete.outputs]
    log = _Log()
    logger, tf_logger = logging.getLogger("tf2onnx"), tf.get_logger()
    logger.addHandler(log)
    levels = logger.level, tf_logger.level
    logger.setLevel(logging.WARNING)
    tf_logger.setLevel(logging.ERROR)  # "Issue encountered when serializing table_initializer"
    try:
        from tf2onnx import optimizer, tf_loader, tfonnx
        from tf2onnx.convert import tensor_names_from_structed

        renames = tensor_names_from_structed(concrete, input_names, output_names)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            frozen, tables = tf_loader.from_trackable(model, concrete, input_names, output_names, False)
            checks = gates.gate_checks(frozen, check_reasons(model))
            present = {n.name for n in frozen.node}
            shapes = {
                op.outputs[0].name: op.inputs[1].shape.as_list()
                for op in concrete.graph.get_operations()
                if op.type == "LookupTableFindV2" and op.name in present and op.inputs[1].shape.rank
            }
            with tf.Graph().as_default() as graph:
                tf.graph_util.import_graph_def(frozen, name="")
                g = tfonnx.process_tf_graph(
                    graph,
                    continue_on_error=True,
                    opset=ONNX_OPSET,
                    input_names=input_names,
                    output_names=output_names,
                    shape_override=shapes,
                    initialized_tables=tables,
                    tensors_to_rename=renames,
                    custom_op_handlers=handlers.OP_HANDLERS,
                    custom_rewriter=handlers.REWRITERS,
                )
                g = optimizer.optimize_graph(g, catch_errors=True)
                proto = g.make_model(f"{model.name}, exported by keras_embed_prep")
    except ExportError:
        raise
    except Exception as exc:  # tf2onnx failed outright: report it with what it logged
        raise ExportError(
            f"tf2onnx could not convert {model.name!r} ({type(exc).__name__}: {probes.first_line(exc)}). "
            f"Nothing was written; export(format='saved_model') keeps every op.{_log_tail(log.lines)}"
        ) from exc
    finally:
        logger.removeHandler(log)
        logger.setLevel(levels[0])
        tf_logger.setLevel(levels[1])
    return proto, log.lines, checks


def _log_tail(lines: list[str]) -> str:
    errors = [line for line in lines if line]
    return "" if not errors else " tf2onnx reported: " + " | ".join(errors[-5:])


def _refuse_unconverted(onnx, proto, log: list[str]) -> None:
    """Raise, naming them, if nodes are left that no ONNX domain defines (TensorFlow ops)."""
    left = [n for n in proto.graph.node if not onnx.defs.has(n.op_type, n.domain)]
    if not left:
        return
    counts = Counter(n.op_type for n in left)
    where = sorted({n.name.rsplit("/", 1)[0] for n in left})
    raise ExportError(
        f"export(format='onnx'): {sum(counts.values())} TensorFlow op(s) have no ONNX translation: "
        + ", ".join(f"{op} (x{k})" for op, k in sorted(counts.items()))
        + f". They come from {', '.join(where[:6])}{' ...' if len(where) > 6 else ''}. Nothing was "
        "written; export(format='saved_model') keeps every op (docs/serving.md lists what converts)."
        + _log_tail([line for line in log if "not supported" not in line])
    )
