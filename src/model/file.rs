//! Checks on a model file before libtorch opens it: the path names a TorchScript archive
//! (not a directory, not a TensorFlow graph), and the archive's code calls only operators
//! that DeePMD-kit models need.
//!
//! Why the code check: a TorchScript `.pth` is a program. `torch::jit::load` already runs
//! code from it (a class's `__setstate__`), and every method call runs more, with operators
//! such as `aten::save` (writes any file) or `aten::from_file` (maps one). So the archive's
//! serialized code (`<name>/code/**.py`) is read here, before loading, and every operator
//! it names (`torch.X`, `ops.NS.X`) must be on an allow-list built from the graphs of
//! DeePMD-kit 3.2 models (se_e2_a, se_e2_r, se_e3, se_atten, se_atten_v2, dpa2, dpa3,
//! hybrid, compressed). `pair_style ... trust_model yes` skips the check.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The path must be a file; a directory or a TensorFlow graph gets its own message.
pub fn check_path(path: &str) -> Result<()> {
    let p = Path::new(path);
    if p.is_dir() {
        return Err(Error::Model(format!(
            "'{path}' is a directory, not a model file; give the path of the frozen .pth file inside it"
        )));
    }
    if !p.is_file() {
        return Err(Error::Model(format!(
            "model file '{path}' not found; give the path of a frozen DeePMD-kit .pth model"
        )));
    }
    if path.ends_with(".pb") && !is_zip(p) {
        return Err(Error::Model(format!(
            "'{path}' is a TensorFlow model; llzo_dp runs PyTorch (TorchScript) models only. \
             Convert it with DeePMD-kit 3: dp convert-backend {path} {}",
            path.trim_end_matches(".pb").to_string() + ".pth"
        )));
    }
    Ok(())
}

fn is_zip(p: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(p).and_then(|mut f| f.read_exact(&mut head)).is_ok() && head == *b"PK\x03\x04"
}

/// Refuses a model whose code names an operator outside the allow-list, naming them.
pub fn check_code(path: &str) -> Result<()> {
    let refused = refused_operators(path)?;
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::Model(format!(
        "'{path}' was refused before loading: its TorchScript code calls operators that DeePMD-kit \
         models do not use ({}); a model file is a program, load only models from people you trust. \
         If you trust this one, add 'trust_model yes' to pair_style (llzo-dp: --trust-model)",
        refused.into_iter().collect::<Vec<_>>().join(", ")
    )))
}

/// Operators named by the archive's code that are not on the allow-list.
pub fn refused_operators(path: &str) -> Result<BTreeSet<String>> {
    let file = std::fs::File::open(path).map_err(|e| Error::Io(format!("{path}: {e}")))?;
    let bad_archive = |e: &dyn std::fmt::Display| {
        Error::Model(format!(
            "cannot load '{path}' as a TorchScript DeePMD-kit model (PyTorch backend, made by \
             'dp --pt freeze'): not a readable TorchScript archive ({e})"
        ))
    };
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad_archive(&e))?;
    let mut refs = CodeRefs::default();
    for k in 0..zip.len() {
        let mut entry = zip.by_index(k).map_err(|e| bad_archive(&e))?;
        if !is_code(entry.name()) {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| bad_archive(&e))?;
        refs.scan(&String::from_utf8_lossy(&bytes));
    }
    Ok(refs.refused())
}

/// What the code of an archive names: operators, methods it calls, methods it defines.
#[derive(Default, Debug)]
pub struct CodeRefs {
    pub operators: BTreeSet<String>,
    pub called_methods: BTreeSet<String>,
    pub defined: BTreeSet<String>,
}

impl CodeRefs {
    /// Operators off the allow-list, and called methods the archive does not define (a
    /// method call on a tensor or string is an operator call too: `x.save("f")` is
    /// `aten::save(x, "f")`), or defines under a name that touches the outside.
    pub fn refused(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.operators.iter().filter(|n| !allowed(n)).cloned().collect();
        for m in &self.called_methods {
            if !self.defined.contains(m) || outside_name(m) {
                out.insert(format!(".{m}()"));
            }
        }
        out
    }
}

/// Names of operators that reach files, processes or the network, whatever defines them.
fn outside_name(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "save", "file", "load", "open", "write", "read", "print", "system", "exec", "mmap", "shm",
        "fork", "share", "pipe", "socket",
    ];
    let lower = name.to_ascii_lowercase();
    WORDS.iter().any(|w| lower.contains(w))
}

/// TorchScript's importer reads `<archive>/code/<qualified name>.py`; anything below a
/// `code/` folder counts, whatever it is called.
fn is_code(name: &str) -> bool {
    name.split('/').any(|part| part == "code") && !name.ends_with('/') && !name.ends_with(".debug_pkl")
}

/// Operator names in serialized TorchScript code (see `CodeRefs::scan`).
pub fn operator_names(code: &str) -> BTreeSet<String> {
    let mut refs = CodeRefs::default();
    refs.scan(code);
    refs.operators
}

impl CodeRefs {
    /// Adds one code file: dotted names rooted at `torch` or `ops` (the importer's only
    /// routes to builtin and registered operators), custom classes
    /// (`__torch__.torch.classes.*`), calls of Python builtins that touch the outside,
    /// names of called methods (`(x).f(`, `a.b.f(`) and of defined ones (`def f`).
    pub fn scan(&mut self, code: &str) {
        let chars: Vec<char> = code.chars().collect();
        let mut i = 0;
        let mut prev_significant = ' ';
        let mut after_def = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '"' || c == '\'' {
                i = skip_string(&chars, i);
                prev_significant = '"';
                continue;
            }
            if c == '#' {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            if c.is_alphabetic() || c == '_' {
                let (chain, end) = dotted_chain(&chars, i);
                let called = chars[end..].iter().find(|c| !c.is_whitespace()) == Some(&'(');
                self.add_name(&chain, prev_significant == '.', called, after_def);
                after_def = chain == "def";
                prev_significant = 'a';
                i = end;
                continue;
            }
            if !c.is_whitespace() {
                prev_significant = c;
                after_def = false;
            }
            i += 1;
        }
    }

    fn add_name(&mut self, chain: &str, is_attribute: bool, called: bool, after_def: bool) {
        if after_def {
            self.defined.insert(chain.to_string());
            return;
        }
        let root = chain.split('.').next().unwrap_or("");
        if !is_attribute && (root == "torch" || root == "ops" || chain.starts_with("__torch__.torch.classes")) {
            self.operators.insert(chain.to_string());
        } else if !is_attribute && called && !chain.contains('.') && OUTSIDE_BUILTINS.contains(&chain) {
            self.operators.insert(chain.to_string());
        } else if called && root != "__torch__" && (is_attribute || chain.contains('.')) {
            let last = chain.rsplit('.').next().unwrap_or(chain);
            self.called_methods.insert(last.to_string());
        }
    }
}

/// `a.b . c` from `start`, whitespace around the dots dropped; returns it and its end.
fn dotted_chain(chars: &[char], start: usize) -> (String, usize) {
    let ident_end = |mut j: usize| {
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        j
    };
    let mut end = ident_end(start);
    let mut chain: String = chars[start..end].iter().collect();
    loop {
        let mut j = end;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if j >= chars.len() || chars[j] != '.' {
            return (chain, end);
        }
        j += 1;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if j >= chars.len() || !(chars[j].is_alphabetic() || chars[j] == '_') {
            return (chain, end);
        }
        let k = ident_end(j);
        chain.push('.');
        chain.extend(&chars[j..k]);
        end = k;
    }
}

/// Index after the string literal opening at `i` (single, triple, with escapes).
fn skip_string(chars: &[char], i: usize) -> usize {
    let q = chars[i];
    let triple = chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q);
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < chars.len() {
        if chars[j] == '\\' {
            j += 2;
            continue;
        }
        if chars[j] == q && (!triple || (chars.get(j + 1) == Some(&q) && chars.get(j + 2) == Some(&q))) {
            return j + if triple { 3 } else { 1 };
        }
        if !triple && chars[j] == '\n' {
            return j; // unterminated: TorchScript refuses it anyway
        }
        j += 1;
    }
    j
}

fn allowed(name: &str) -> bool {
    if let Some(op) = name.strip_prefix("ops.deepmd.") {
        // DeePMD-kit's own operators (tabulation, border exchange): pure tensor kernels
        return !op.contains('.');
    }
    if let Some(op) = name.strip_prefix("ops.prim.") {
        return PRIM_OPS.contains(&op);
    }
    if let Some(op) = name.strip_prefix("torch.") {
        return TORCH_OPS.contains(&op);
    }
    false
}

/// Python builtins the TorchScript importer accepts that reach outside the process
/// (standard output, threads) or that it never accepts but that a crafted archive may try.
const OUTSIDE_BUILTINS: &[&str] = &["print", "open", "exec", "eval", "compile", "__import__", "input", "fork"];

/// `ops.prim.*` named by DeePMD-kit 3.2 models.
const PRIM_OPS: &[&str] = &["RaiseException", "device", "dtype", "layout", "max", "min", "requires_grad", "type"];

/// `torch.*` named by DeePMD-kit 3.2 models (se_e2_a, se_e2_r, se_e3, se_atten, se_atten_v2,
/// dpa2, dpa3, hybrid, compressed models), plus a few pure tensor operators of the same
/// families (math, shape, reductions) so later DeePMD-kit releases keep loading, and those that
/// graphs scripted by other torch versions inline (`torch.norm`'s branches, `list.clear`).
const TORCH_OPS: &[&str] = &[
    "__and__", "__contains__", "__derive_index", "__is__", "__isnot__", "__not__", "__or__",
    "__range_length", "_set_item", "abs", "add", "add_", "amax", "amin", "any", "all", "append",
    "arange", "argsort", "autograd.grad", "bincount", "bitwise_not", "cat", "ceil", "chunk", "clear",
    "clamp", "clamp_min", "clamp_min_", "clamp_max", "clone", "contiguous", "copy_", "cos", "cpu",
    "cross", "cumsum", "detach", "device", "dim", "div", "div_", "einsum", "embedding", "empty",
    "eq", "exp", "expand", "expand_as", "eye", "flatten", "floor", "floordiv", "format", "frobenius_norm", "full",
    "full_like", "gather", "ge", "gelu", "gt", "index", "index_add_", "index_put_",
    "index_select", "is_grad_enabled", "item", "items", "keys", "le", "len", "linalg_det",
    "linalg_inv_ex", "linalg_matrix_norm", "linalg_norm", "linalg_vector_norm", "linear", "list", "log", "logical_and", "logical_not",
    "logical_or", "lower", "lt", "masked_fill", "matmul", "max", "maximum", "mean", "min",
    "minimum", "mul", "mul_", "ne", "neg", "new_ones", "new_zeros", "norm", "nuclear_norm", "numel", "numpy_T",
    "ones", "ones_like", "pad", "permute", "pop", "pow", "ravel", "reciprocal", "relu", "relu6",
    "relu6_", "relu_", "remainder", "repeat", "requires_grad_", "reshape", "round", "rsqrt",
    "scatter_reduce", "select", "set_grad_enabled", "sigmoid", "sign", "silu", "silu_", "sin",
    "size", "slice", "softmax", "softplus", "sort", "split", "sqrt", "square", "squeeze", "stack",
    "startswith", "sub", "sub_", "sum", "t", "tanh", "tensor", "tile", "to", "topk", "transpose",
    "type_as", "unbind", "unsqueeze", "update", "values", "var_mean", "view", "warn", "where",
    "zeros", "zeros_like",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_operators_outside_strings_and_comments() {
        let code = "def f(self, x: Tensor) -> Tensor:\n  y = torch.add(x, 1) # torch.save(x)\n  \
                    _0 = \"torch.save(x, 'a')\"\n  ops.prim.dtype(x)\n  torch . save (x, \"f\")\n  \
                    z = (self).forward(x, )\n  print(y)\n  return __torch__.torch.classes.io.File(y)\n";
        let names: Vec<String> = operator_names(code).into_iter().collect();
        assert_eq!(names, ["__torch__.torch.classes.io.File", "ops.prim.dtype", "print", "torch.add", "torch.save"]);
        let refused: Vec<&String> = names.iter().filter(|n| !allowed(n)).collect();
        assert_eq!(refused, ["__torch__.torch.classes.io.File", "print", "torch.save"]);
    }

    #[test]
    fn method_calls_must_be_defined_in_the_archive() {
        let mut refs = CodeRefs::default();
        refs.scan("class M(Module):\n  def forward(self, x: Tensor) -> Tensor:\n    y = (self.inner).forward(x, )\n    \
                   z = self.helper(y)\n    w.save(\"f\")\n    return x\n  def helper(self, x: Tensor) -> Tensor:\n    \
                   return x\n  def read_it(self) -> None:\n    self.read_it()\n");
        let refused: Vec<String> = refs.refused().into_iter().collect();
        assert_eq!(refused, [".read_it()", ".save()"]);
    }

    #[test]
    fn attribute_chains_are_not_roots() {
        // `x.torch.save` is an attribute of x, `__torch__.torch.nn...` a class of the archive
        let code = "a = x.torch.save\nb = __torch__.torch.nn.modules.container.ModuleList\n\
                    c = \"\"\"torch.save \" \"\"\"\nd = torch.from_file(\"p\", True, 4)\n";
        let names: Vec<String> = operator_names(code).into_iter().collect();
        assert_eq!(names, ["torch.from_file"]);
        assert!(!allowed("torch.from_file") && !allowed("ops.aten.save") && !allowed("torch.ops.aten.save"));
        assert!(allowed("ops.deepmd.tabulate_fusion_se_a") && allowed("torch.autograd.grad"));
        // what DeePMD-kit's own test models, scripted by other torch versions, name
        for op in ["ops.prim.layout", "ops.prim.type", "torch.frobenius_norm", "torch.linalg_vector_norm", "torch.clear"] {
            assert!(allowed(op), "{op}");
        }
    }
}
