"""balancewatch: tells an operations team when a customer's balance moves in a way it should not."""

__version__ = "0.1.0"
