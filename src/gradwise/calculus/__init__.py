"""The objective and its derivatives: ``f(x) -> (loss, grad)`` over a model's flat parameter
vector (:mod:`.objective`), the gradient check (:mod:`.gradcheck`), Hessians
(:mod:`.hessian`) and the fused linear-loss kernel that makes the objective fast
(:mod:`.fused`). The public names are re-exported by :mod:`gradwise` itself."""
