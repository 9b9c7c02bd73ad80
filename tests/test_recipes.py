"""Every recipe in recipes/ is a valid configuration (the data paths exist when ../shared does)."""

from __future__ import annotations

import pytest

from nmtcli.training.options import load_yaml, resolve_configs
from tests.conftest import REPO, SHARED_DATA

RECIPES = sorted((REPO / "recipes").glob("*.yaml"))


def test_there_are_recipes_for_every_multi30k_model():
    names = {path.stem for path in RECIPES}
    for pair in ("de", "fr"):
        for model in ("rnn-none", "rnn-bahdanau", "rnn-general", "transformer"):
            assert f"multi30k-en-{pair}-{model}" in names


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_resolves(recipe):
    values = load_yaml(recipe)
    model, train = resolve_configs(values)
    assert train.max_epochs >= 1
    assert model.arch in recipe.stem
    assert values["output"] == f"runs/{recipe.stem}"
    if SHARED_DATA.is_dir():
        for key in ("corpus", "src_file", "tgt_file", "valid", "valid_src_file", "valid_tgt_file"):
            if key in values:
                assert (REPO / values[key]).is_file(), values[key]
