"""`nmtcli info --diagram`: a model's encoder–decoder drawn from its configuration."""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ElementTree

import pytest
from rich.console import Console

from nmtcli.diagram import diagram_view, save_svg
from nmtcli.errors import ConfigError
from nmtcli.models.config import RNNConfig, TransformerConfig, VocabSizes
from nmtcli.models.diagram import model_diagram

VOCAB = VocabSizes(500, 600, False)
FAMILIES = {
    "none": RNNConfig(attention="none"),
    "bahdanau": RNNConfig(attention="bahdanau", cell="gru", bidirectional=False),
    "luong": RNNConfig(attention="general", layers=2),
    "transformer": TransformerConfig(layers=2),
}


def _text(config) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(diagram_view(model_diagram(config, VOCAB), color=False))
    return console.export_text()


def test_each_family_draws_a_different_model():
    texts = {name: _text(config) for name, config in FAMILIES.items()}
    for first, second in itertools.combinations(texts, 2):
        assert texts[first] != texts[second], (first, second)
    assert "attention" not in texts["none"].split("\n", 1)[1]  # only the title names it
    assert "fixed context" in model_diagram(FAMILIES["none"], VOCAB).links[0].label
    assert "s_{i-1}" in texts["bahdanau"] and "GRU × 1" in texts["bahdanau"]
    assert "h̃_i = tanh(W_c [c_i; s_i])" in texts["luong"] and "input feeding" in texts["luong"]
    assert "bidirectional LSTM × 2" in texts["luong"]
    assert "cross-attention" in texts["transformer"] and "decoder layer × 2" in texts["transformer"]


def test_where_the_source_enters_the_decoder():
    none = model_diagram(FAMILIES["none"], VOCAB)
    assert [(link.source, none.decoder[link.target].title) for link in none.links] == [
        (2, "LSTM × 1")
    ]
    bahdanau = model_diagram(FAMILIES["bahdanau"], VOCAB)
    assert bahdanau.decoder.index(next(b for b in bahdanau.decoder if "attention" in b.title)) < (
        bahdanau.decoder.index(next(b for b in bahdanau.decoder if b.title == "GRU × 1"))
    )  # Bahdanau attends before the RNN step, Luong after it
    luong = model_diagram(FAMILIES["luong"], VOCAB)
    titles = [b.title for b in luong.decoder]
    assert titles.index("LSTM × 2") < titles.index("general attention (Luong)")
    no_feeding = model_diagram(RNNConfig(attention="dot", input_feeding=False), VOCAB)
    assert not any("input feeding" in loop.label for loop in no_feeding.loops)


def test_tied_weights_are_drawn_only_when_tied():
    tied = model_diagram(TransformerConfig(), VocabSizes(500, 500, True))
    assert len(tied.ties) == 2  # output projection, and the joint source embedding
    assert len(model_diagram(TransformerConfig(), VOCAB).ties) == 1  # separate vocabularies
    assert not model_diagram(TransformerConfig(tie_embeddings=False), VOCAB).ties
    assert "⇔" in _text(TransformerConfig()) and "⇔" not in _text(FAMILIES["luong"])


def test_the_svg_is_valid_and_has_a_box_per_stage(tmp_path):
    for name, config in FAMILIES.items():
        diagram = model_diagram(config, VOCAB)
        path = tmp_path / f"{name}.svg"
        save_svg(diagram, path)
        root = ElementTree.parse(path).getroot()
        rects = root.findall(".//{http://www.w3.org/2000/svg}rect")
        assert len(rects) == 1 + len(diagram.encoder) + len(diagram.decoder)  # + background
        assert diagram.decoder[-1].title in path.read_text()
    with pytest.raises(ConfigError, match=r"must end in \.svg"):
        save_svg(model_diagram(FAMILIES["none"], VOCAB), tmp_path / "x.png")


def test_info_diagram_on_a_trained_model(cli, trained_model, tmp_path):
    out = tmp_path / "model.svg"
    result = cli("info", str(trained_model), "--diagram", "--diagram-out", str(out))
    assert result.exit_code == 0, result.output
    assert "ENCODER" in result.output and "DECODER" in result.output
    assert out.read_text().startswith("<svg")
    bad = cli("info", str(trained_model), "--diagram-out", str(tmp_path / "no" / "x.svg"))
    assert bad.exit_code == 1 and "does not exist" in bad.output
