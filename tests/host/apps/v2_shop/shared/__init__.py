from .money import Money
from .pricing import total_of

__all__ = ["Money", "total_of"]
