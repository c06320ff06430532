"""Capability markers and the partitioned term that partitioned schemes integrate.

A scheme that integrates a *partitioned* state ``y = (p, q)`` takes one
:class:`PartitionedTerm` holding two vector fields that both see the whole state.
A scheme that needs a *second-order* system additionally assumes ``p' = v`` with
``v = q`` (``x'' = F(t, x, x')``). Callers check these markers before compiling anything.
"""


from collections.abc import Callable
from typing import ClassVar

import diffrax
import jax.tree_util as jtu


class PartitionedTerm(diffrax.AbstractTerm):
    r"""The vector field of an ODE on a state ``y = (p, q)``, given by its two parts.

    ``f_p(t, y, args)`` and ``f_q(t, y, args)`` each take the **whole** state and return
    the derivative of their own part. As one term it is the full vector field
    ``(f_p, f_q)``, so any diffrax solver integrates it; partitioned schemes call the
    parts separately through :meth:`vf_p` and :meth:`vf_q`.
    """

    f_p: Callable
    f_q: Callable

    def vf_p(self, t, y, args):
        return self.f_p(t, y, args)

    def vf_q(self, t, y, args):
        return self.f_q(t, y, args)

    def vf(self, t, y, args):
        return self.f_p(t, y, args), self.f_q(t, y, args)

    def contr(self, t0, t1, **kwargs):
        return t1 - t0

    def prod(self, vf, control):
        return jtu.tree_map(lambda v: control * v, vf)


def split_parts(terms):
    """``(vf_p, vf_q)`` of a :class:`PartitionedTerm`, also when diffrax has wrapped it
    (``diffeqsolve`` wraps every term to handle the direction of time)."""
    if isinstance(terms, PartitionedTerm):
        return terms.vf_p, terms.vf_q
    inner, direction = terms.term, terms.direction  # diffrax's WrapTerm
    return (lambda t, y, args: inner.vf_p(t * direction, y, args),
            lambda t, y, args: inner.vf_q(t * direction, y, args))


class AbstractPartitionedSolver(diffrax.AbstractSolver):
    """Needs ``terms`` to be a :class:`PartitionedTerm` over a state ``y = (p, q)``.

    Provides what such one-step, stateless schemes share: the term structure, linear
    dense output, no solver state, and ``func`` (the full vector field).
    """

    term_structure: ClassVar = PartitionedTerm
    interpolation_cls: ClassVar[Callable[..., diffrax.LocalLinearInterpolation]] = (
        diffrax.LocalLinearInterpolation
    )

    def init(self, terms, t0, t1, y0, args):
        return None

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)


class AbstractSecondOrderSolver(AbstractPartitionedSolver):
    """Needs a partitioned state ``(x, v)`` whose ``term_p`` is ``x' = v``; ``term_q``
    gives the acceleration ``F(t, x, v)``."""


__all__ = ["AbstractPartitionedSolver", "AbstractSecondOrderSolver", "PartitionedTerm"]
