"""A small data family (``demo``, measure VAX) that the kit's own tests install and break."""
