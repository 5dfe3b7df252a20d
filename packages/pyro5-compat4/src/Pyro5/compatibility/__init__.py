"""Backward compatibility layers for Pyro5 (shipped by the pyro5-compat4 distribution).

``from Pyro5.compatibility import Pyro4`` enables the Pyro4 API layer (see :mod:`Pyro5.compatibility.Pyro4`).
"""
