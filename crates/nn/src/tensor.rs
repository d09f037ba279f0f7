//! Tensors as wasi:nn carries them: dimensions, an element type, little-endian bytes.

use crate::NnError;

/// The element types Vox's graphs exchange (wasi:nn's `fp32` and `i64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    F32,
    I64,
}

/// A named graph input or output's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dims: Vec<u32>,
    pub element: Element,
    pub data: Vec<u8>,
}

impl Tensor {
    pub fn f32(dims: &[usize], values: &[f32]) -> Self {
        Self::new(
            dims,
            Element::F32,
            values.iter().flat_map(|v| v.to_le_bytes()),
        )
    }

    pub fn i64(dims: &[usize], values: &[i64]) -> Self {
        Self::new(
            dims,
            Element::I64,
            values.iter().flat_map(|v| v.to_le_bytes()),
        )
    }

    fn new(dims: &[usize], element: Element, data: impl Iterator<Item = u8>) -> Self {
        Self {
            dims: dims.iter().map(|&d| d as u32).collect(),
            element,
            data: data.collect(),
        }
    }

    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().map(|&d| d as usize).collect()
    }

    /// The values of an f32 tensor whose byte length matches its dimensions.
    pub fn to_f32(&self, name: &str) -> Result<Vec<f32>, NnError> {
        self.check(name, Element::F32, 4)?;
        Ok(self
            .data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// The values of an i64 tensor whose byte length matches its dimensions.
    pub fn to_i64(&self, name: &str) -> Result<Vec<i64>, NnError> {
        self.check(name, Element::I64, 8)?;
        Ok(self
            .data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("chunks of 8")))
            .collect())
    }

    fn check(&self, name: &str, element: Element, width: usize) -> Result<(), NnError> {
        let fail = |message: String| NnError::Tensor {
            name: name.to_string(),
            message,
        };
        if self.element != element {
            return Err(fail(format!("is {:?}, expected {element:?}", self.element)));
        }
        let count = self
            .dims
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d as usize));
        match count.and_then(|n| n.checked_mul(width)) {
            Some(len) if len == self.data.len() => Ok(()),
            _ => Err(fail(format!(
                "{} bytes do not hold dimensions {:?}",
                self.data.len(),
                self.dims
            ))),
        }
    }
}

#[cfg(feature = "tract")]
impl Tensor {
    /// tract's `tensor`, named `name` in errors; element types other than f32 and i64 are
    /// carried as f32.
    pub fn from_tract(name: &str, tensor: &tract_data::prelude::Tensor) -> Result<Self, NnError> {
        use tract_data::prelude::DatumType;
        let fail = |e: tract_data::TractError| NnError::Tensor {
            name: name.to_string(),
            message: format!("{e:#}"),
        };
        let shape = tensor.shape();
        match tensor.datum_type() {
            DatumType::F32 => Ok(Self::f32(shape, plain::<f32>(tensor).map_err(fail)?)),
            DatumType::I64 => Ok(Self::i64(shape, plain::<i64>(tensor).map_err(fail)?)),
            _ => {
                let cast = tensor.cast_to::<f32>().map_err(fail)?;
                Ok(Self::f32(shape, plain::<f32>(&cast).map_err(fail)?))
            }
        }
    }

    /// This tensor as tract's, named `name` in errors (its bytes are copied: wasm32 does not
    /// promise them tract's alignment).
    pub fn to_tract(&self, name: &str) -> Result<tract_data::prelude::Tensor, NnError> {
        let shape = self.shape();
        let tensor = match self.element {
            Element::F32 => tract_data::prelude::Tensor::from_shape(&shape, &self.to_f32(name)?),
            Element::I64 => tract_data::prelude::Tensor::from_shape(&shape, &self.to_i64(name)?),
        };
        tensor.map_err(|e| NnError::Tensor {
            name: name.to_string(),
            message: format!("{e:#}"),
        })
    }
}

/// The values of a tensor held in plain memory.
#[cfg(feature = "tract")]
fn plain<D: tract_data::prelude::Datum>(
    tensor: &tract_data::prelude::Tensor,
) -> tract_data::TractResult<&[D]> {
    tensor.try_as_plain_ram()?.as_slice::<D>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_bytes() {
        let t = Tensor::f32(&[2, 2], &[1.0, -2.5, 0.0, f32::MAX]);
        assert_eq!(t.to_f32("x").unwrap(), [1.0, -2.5, 0.0, f32::MAX]);
        let t = Tensor::i64(&[3], &[0, -1, i64::MAX]);
        assert_eq!(t.to_i64("ids").unwrap(), [0, -1, i64::MAX]);
    }

    #[test]
    fn wrong_types_and_lengths_are_named_errors() {
        let t = Tensor::i64(&[2], &[1, 2]);
        assert!(matches!(t.to_f32("x"), Err(NnError::Tensor { .. })));
        let mut t = Tensor::f32(&[3], &[1.0, 2.0, 3.0]);
        t.data.pop();
        let err = t.to_f32("x").unwrap_err().to_string();
        assert!(
            err.contains("tensor x") && err.contains("11 bytes"),
            "{err}"
        );
        let t = Tensor {
            dims: vec![u32::MAX, u32::MAX, u32::MAX],
            element: Element::F32,
            data: vec![],
        };
        assert!(t.to_f32("huge").is_err());
    }
}
