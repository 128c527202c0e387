"""Service catalog: items, bundles and the index over them."""
from bot.catalog.catalog import Catalog, Target
from bot.catalog.models import Bundle, Material, ServiceItem

__all__ = ["Bundle", "Catalog", "Material", "ServiceItem", "Target"]
