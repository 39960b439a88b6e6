from ..shared_code.greeting import Greeting


def main(greeting: Greeting) -> str:
    return f"Hello {greeting.name}{greeting.punctuation}"
