"""A module from `netgen.load` is a real, importable module's class: it pickles by reference and
reaches worker processes (torch.save, torch.multiprocessing spawn, DataLoader workers)."""

import io
import sys

import torch
import torch.multiprocessing as mp
from conftest import BLUEPRINTS

import netgen


def _forward_in_worker(rank, payload, x, path):
    model = torch.load(io.BytesIO(payload), weights_only=False)
    with torch.no_grad():
        torch.save(model(x), path)


class _ModelData(torch.utils.data.Dataset):
    """A dataset that carries the model into its workers and applies it there."""

    def __init__(self, model, x):
        self.model, self.x = model, x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        with torch.no_grad():
            return self.model(self.x[index : index + 1])[0]


def _model():
    model = netgen.load(BLUEPRINTS / "resnet18.yaml", input=(3, 32, 32), num_classes=5).eval()
    return model, torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_loaded_model_round_trips_through_torch_save():
    model, x = _model()
    cls = type(model)
    assert cls.__module__.startswith("netgen.generated.") and sys.modules[cls.__module__].Resnet18 is cls
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    copy = torch.load(buffer, weights_only=False)
    assert type(copy) is cls  # the same class, found again by its module and name
    with torch.no_grad():
        assert torch.equal(copy(x), model(x))
    assert copy.netgen_source == model.netgen_source


def test_loaded_model_runs_in_spawned_workers(tmp_path):
    model, x = _model()
    buffer = io.BytesIO()
    torch.save(model, buffer)
    out = tmp_path / "out.pt"
    # a fresh interpreter imports the generated module by name from netgen's cache folder
    mp.spawn(_forward_in_worker, args=(buffer.getvalue(), x, str(out)), nprocs=1, join=True)
    with torch.no_grad():
        expected = model(x)
    assert torch.equal(torch.load(out), expected)
    loader = torch.utils.data.DataLoader(_ModelData(model, x), batch_size=2, num_workers=1,
                                         multiprocessing_context="spawn")
    (batch,) = list(loader)
    assert torch.allclose(batch, expected, atol=1e-6)


def test_an_unwritable_cache_still_gives_a_picklable_module(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("NETGEN_CACHE_DIR", str(blocker / "generated"))
    model = netgen.load(BLUEPRINTS / "lenet5.yaml", num_classes=3).eval()
    assert not (blocker / "generated").exists()
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    x = torch.randn(1, *netgen.compile_blueprint(BLUEPRINTS / "lenet5.yaml")["input"].shape)
    with torch.no_grad():
        assert torch.equal(torch.load(buffer, weights_only=False)(x), model(x))
