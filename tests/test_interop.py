"""What an engineer does with an emitted module: export it, compile it, and train it distributed."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import BLUEPRINTS, write_blueprint

import netgen

TINY = """netgen: 1
name: tiny
input: [3, 16, 16]
network:
  - conv: {out: 8, k: 3, pad: 1, bias: false, name: stem}
  - bn: {name: bn}
  - relu
  - residual:
      name: block
      body: [{conv: {out: 16, k: 3, stride: 2, pad: 1, bias: false, name: conv}}, {bn: {name: bn}}]
      after: relu
  - parallel:
      name: mix
      merge: concat
      branches:
        a: {conv: {out: 4, k: 1}}
        b: [{maxpool: {k: 3, stride: 1, pad: 1}}, {conv: {out: 4, k: 1}}]
  - gap
  - flatten
  - linear: {out: 5, name: fc}
"""


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return netgen.load(BLUEPRINTS / "resnet18.yaml", input=(3, 64, 64), num_classes=10).eval()


def test_torch_export_matches_eager(resnet18):
    x = torch.randn(2, 3, 64, 64)
    exported = torch.export.export(resnet18, (x,))
    with torch.no_grad():
        assert torch.allclose(exported.module()(x), resnet18(x), atol=1e-5)


def onnx_outputs(model, x, path, dynamo: bool = True):
    """Export with torch's ONNX exporter (dynamo: the default since torch 2.9; else the
    TorchScript one) to `path` and run the file in onnxruntime."""
    ort = pytest.importorskip("onnxruntime")
    if dynamo:
        pytest.importorskip("onnxscript")
    torch.onnx.export(model, (x,), str(path), dynamo=dynamo, input_names=["x"])
    session = ort.InferenceSession(str(path))
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_onnx_export_runs_in_onnxruntime(resnet18, tmp_path, dynamo):
    x = torch.randn(2, 3, 64, 64)
    (y,) = onnx_outputs(resnet18, x, tmp_path / "resnet18.onnx", dynamo)
    with torch.no_grad():
        assert abs(y - resnet18(x).numpy()).max() < 1e-4


# Library models whose files carry netgen's own helpers (support code): the input transform,
# stochastic depth, FractalNet's join, U-Net's crop, SE gates; each must export like plain torch.
SUPPORT_CODE_MODELS = [
    ("googlenet", {"transform_input": True, "aux_logits": False}, (3, 96, 96)),
    ("efficientnet_b0", {}, (3, 64, 64)),
    ("fractalnet", {"channels": [8, 8, 8, 8, 8]}, None),
    ("unet", {"size": 188}, None),
]


@pytest.mark.parametrize("name,params,input_shape", SUPPORT_CODE_MODELS, ids=[m[0] for m in SUPPORT_CODE_MODELS])
def test_models_with_support_code_export_to_torch_export_and_onnx(name, params, input_shape, tmp_path):
    torch.manual_seed(0)
    model = netgen.load(BLUEPRINTS / f"{name}.yaml", input=input_shape, **params).eval()
    graph = netgen.compile_blueprint(BLUEPRINTS / f"{name}.yaml", input=input_shape, **params)
    x = torch.randn(2, *graph[graph.inputs[0]].shape)
    with torch.no_grad():
        expected = model(x)
        assert torch.allclose(torch.export.export(model, (x,)).module()(x), expected, atol=1e-5)
    (y,) = onnx_outputs(model, x, tmp_path / f"{name}.onnx")
    assert abs(y - expected.numpy()).max() <= 1e-4 * max(1.0, abs(expected).max().item())


def test_torch_compile_fullgraph_without_graph_breaks(tmp_path):
    model = netgen.load(write_blueprint(tmp_path, TINY)).eval()
    compiled = torch.compile(model, fullgraph=True)  # fullgraph: a graph break is an error
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train_step(rank, world, path, port, wrapper, queue):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = netgen.load(path)
        if wrapper == "ddp":
            model = torch.nn.parallel.DistributedDataParallel(model)
        else:
            from torch.distributed.device_mesh import init_device_mesh
            from torch.distributed.fsdp import fully_shard

            mesh = init_device_mesh("cpu", (world,))
            fully_shard(model.block, mesh=mesh)
            fully_shard(model, mesh=mesh)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        generator = torch.Generator().manual_seed(rank)
        x = torch.randn(4, 3, 16, 16, generator=generator)
        y = torch.randint(0, 5, (4,), generator=generator)
        losses = []
        for _ in range(3):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        if wrapper == "ddp":
            weights = model.module.fc.weight.detach().clone()
        else:
            weights = model.fc.weight.full_tensor().detach().clone()
        queue.put((rank, losses, weights.tolist()))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("wrapper", ["ddp", "fsdp"])
def test_distributed_training_on_two_cpu_processes(tmp_path, wrapper):
    path = write_blueprint(tmp_path, TINY)
    context = mp.get_context("spawn")
    queue = context.Queue()
    port = _free_port()
    processes = [context.Process(target=_train_step, args=(r, 2, str(path), port, wrapper, queue)) for r in range(2)]
    for p in processes:
        p.start()
    results = sorted(queue.get(timeout=120) for _ in processes)
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0
    (_, losses0, w0), (_, losses1, w1) = results
    assert w0 == w1  # gradients were averaged: both ranks hold the same weights
    assert losses0[-1] < losses0[0] and losses1[-1] < losses1[0]


def test_fsdp_wraps_lraspps_head_as_any_block():
    """LR-ASPP's head (`model.classifier`) is a class with its own forward, taking the backbone's
    two feature maps, so FSDP's fully_shard wraps it alone as it wraps any block (a container the
    network wires, which it was, has no forward for FSDP's hooks). One process, a world of one on
    gloo: the sharded model computes what the plain one does, and its head's weights get gradients."""
    import copy

    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor import DTensor

    torch.manual_seed(0)
    model = netgen.load(BLUEPRINTS / "lraspp_mobilenet_v3_large.yaml", input=(3, 64, 64)).eval()
    plain = copy.deepcopy(model)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        mesh = init_device_mesh("cpu", (1,))
        fully_shard(model.classifier, mesh=mesh)
        fully_shard(model, mesh=mesh)
        assert all(isinstance(p, DTensor) for p in model.classifier.parameters())
        out = model(x)["out"]
        with torch.no_grad():
            want = plain(x)["out"]
        assert out.shape == (2, 21, 64, 64)
        assert torch.allclose(out.detach(), want, atol=1e-5)
        out.square().mean().backward()
        grad = model.classifier.low_classifier.weight.grad
        assert grad is not None and grad.full_tensor().abs().sum().item() > 0
    finally:
        dist.destroy_process_group()
