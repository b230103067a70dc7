"""Test app file without an `app` function."""


def main():
    return None
