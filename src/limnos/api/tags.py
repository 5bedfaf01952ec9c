"""(being written)"""

routes: list = []
