"""How a state dict fails to fit a module, in words."""

__all__ = ['state_dict_problems']


def state_dict_problems(own: dict, state: dict) -> list:
    """Missing, unexpected and misshapen keys of ``state`` against ``own``
    (a module's ``state_dict()``), one line per kind; empty if it fits."""
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(f'{k}: expected {tuple(own[k].shape)}, found '
                    f'{tuple(getattr(state[k], "shape", ()))}'
                    for k in set(own) & set(state)
                    if own[k].shape != getattr(state[k], 'shape', None))
    return [f'{label} {keys}' for label, keys in
            (('missing keys', missing), ('unexpected keys', unexpected),
             ('shape mismatches', shapes)) if keys]
