//! The `.npy` array format (little-endian, C order): float64 arrays written, float64 or
//! float32 arrays read.

use std::path::Path;

use crate::error::{Error, Result};

/// A `.npy` file (format 1.0, little-endian) of float64 or int32 data.
pub fn npy_bytes(shape: &[usize], descr: &str, data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_txt = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    // magic(6) + version(2) + len(2) + header + '\n' must be a multiple of 64
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

pub fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Reads a little-endian float64 or float32 `.npy` array (C order): shape and values.
pub fn read_npy(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let bad = |m: &str| Error::Input(format!("{}: {m}", path.display()));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file"));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err(bad("unsupported .npy version")),
    };
    let header = bytes.get(start..start + hlen).ok_or_else(|| bad("truncated header"))?;
    let header = String::from_utf8_lossy(header);
    let field = |key: &str| -> Option<String> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
        let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find(',')? };
        Some(rest[..end].trim().to_string())
    };
    if field("fortran_order").as_deref() != Some("False") {
        return Err(bad("Fortran-ordered arrays are not supported"));
    }
    let descr = field("descr").ok_or_else(|| bad("no descr"))?;
    let size = match descr.trim_matches('\'') {
        "<f8" => 8,
        "<f4" => 4,
        d => return Err(bad(&format!("dtype {d} is not supported (need <f8 or <f4)"))),
    };
    let shape_text = field("shape").ok_or_else(|| bad("no shape"))?;
    let shape = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad("bad shape")))
        .collect::<Result<Vec<usize>>>()?;
    let count: usize = shape.iter().product();
    let data = &bytes[start + hlen..];
    if data.len() != count * size {
        return Err(bad(&format!("{} data bytes for shape {shape:?}", data.len())));
    }
    let values = if size == 8 {
        data.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
    } else {
        data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect()
    };
    Ok((shape, values))
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_roundtrip() {
        let dir = std::env::temp_dir().join(format!("llzo_npy_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }".to_string();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        for v in [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.5] {
            bytes.extend(v.to_le_bytes());
        }
        std::fs::write(dir.join("a.npy"), bytes).unwrap();
        let (shape, v) = read_npy(&dir.join("a.npy")).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

