from .money import Money


def total_of(prices: list[Money]) -> Money:
    return Money(sum(price.cents for price in prices), prices[0].currency if prices else "EUR")
