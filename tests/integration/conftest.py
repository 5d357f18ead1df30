"""The bundled example data, loaded once for every integration test that asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from oms_sourcing.domain import Catalog, Order
from oms_sourcing.formats.catalog import load_catalog
from oms_sourcing.formats.network import load_network
from oms_sourcing.formats.orders import load_orders
from oms_sourcing.inventory.feeds import Feed, read_feed
from oms_sourcing.inventory.network import SourceNetwork

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def network() -> SourceNetwork:
    return load_network(EXAMPLES / "network.yaml")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(EXAMPLES / "catalog.yaml")


@pytest.fixture(scope="session")
def feed() -> Feed:
    return read_feed(EXAMPLES / "stock.csv")


@pytest.fixture(scope="session")
def orders(catalog: Catalog) -> list[Order]:
    return load_orders(EXAMPLES / "orders.jsonl", catalog)
