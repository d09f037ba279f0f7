//! Tensors as wasi:nn carries them: dimensions, an element type, little-endian bytes.

use crate::NnError;

/// The element types Vox's graphs exchange (wasi:nn's `fp32` and `i64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    F32,
    I64,
}

impl Element {
    /// Bytes per value.
    pub fn width(self) -> usize {
        match self {
            Element::F32 => 4,
            Element::I64 => 8,
        }
    }
}

/// A named graph input or output's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dims: Vec<u32>,
    pub element: Element,
    pub data: Vec<u8>,
}

/// A tensor's dimensions, element type and little-endian bytes, borrowed: what a guest hands to
/// the host without copying the bytes first (the host copies them out of the guest's memory).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorView<'a> {
    pub dims: Vec<u32>,
    pub element: Element,
    pub data: &'a [u8],
}

impl Tensor {
    /// This tensor, borrowed.
    pub fn view(&self) -> TensorView<'_> {
        TensorView {
            dims: self.dims.clone(),
            element: self.element,
            data: &self.data,
        }
    }

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
        self.check(name, Element::F32, Element::F32.width())?;
        Ok(self
            .data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// The values of an i64 tensor whose byte length matches its dimensions.
    pub fn to_i64(&self, name: &str) -> Result<Vec<i64>, NnError> {
        self.check(name, Element::I64, Element::I64.width())?;
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
            // The bytes as they lie, copied whole (the host returns a step's logits this way).
            #[cfg(target_endian = "little")]
            DatumType::F32 | DatumType::I64 => {
                let view = TensorView::from_tract(name, tensor)?;
                Ok(Self {
                    dims: view.dims,
                    element: view.element,
                    data: view.data.to_vec(),
                })
            }
            #[cfg(not(target_endian = "little"))]
            DatumType::F32 => Ok(Self::f32(shape, plain::<f32>(tensor).map_err(fail)?)),
            #[cfg(not(target_endian = "little"))]
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
        use tract_data::prelude::Tensor as TractTensor;
        let shape = self.shape();
        // On a little-endian machine the bytes are the values as they lie in memory: copied
        // once, into tract's aligned storage, with no vector of values in between.
        #[cfg(target_endian = "little")]
        let tensor = {
            self.check(name, self.element, self.element.width())?;
            // SAFETY: f32 and i64 take any bit pattern, and `check` matched the length.
            match self.element {
                Element::F32 => unsafe { TractTensor::from_raw::<f32>(&shape, &self.data) },
                Element::I64 => unsafe { TractTensor::from_raw::<i64>(&shape, &self.data) },
            }
        };
        #[cfg(not(target_endian = "little"))]
        let tensor = match self.element {
            Element::F32 => TractTensor::from_shape(&shape, &self.to_f32(name)?),
            Element::I64 => TractTensor::from_shape(&shape, &self.to_i64(name)?),
        };
        tensor.map_err(|e| NnError::Tensor {
            name: name.to_string(),
            message: format!("{e:#}"),
        })
    }
}

#[cfg(all(feature = "tract", target_endian = "little"))]
impl<'a> TensorView<'a> {
    /// tract's f32 or i64 `tensor` as it lies in memory, named `name` in errors: on a
    /// little-endian machine (wasm32, x86-64, aarch64) its bytes are already wasi:nn's, so a
    /// window's cross-attention inputs (18 MB for tiny.en) cross without a second copy in the
    /// component.
    pub fn from_tract(
        name: &str,
        tensor: &'a tract_data::prelude::Tensor,
    ) -> Result<Self, NnError> {
        use tract_data::prelude::DatumType;
        let fail = |message: String| NnError::Tensor {
            name: name.to_string(),
            message,
        };
        let element = match tensor.datum_type() {
            DatumType::F32 => Element::F32,
            DatumType::I64 => Element::I64,
            other => return Err(fail(format!("is {other:?}; a view holds f32 or i64"))),
        };
        let data = tensor
            .try_as_plain_ram()
            .map_err(|e| fail(format!("{e:#}")))?
            .as_bytes();
        Ok(Self {
            dims: tensor.shape().iter().map(|&d| d as u32).collect(),
            element,
            data,
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

    #[cfg(all(feature = "tract", target_endian = "little"))]
    #[test]
    fn a_view_of_a_tract_tensor_holds_the_bytes_a_copy_would() {
        let values = [1.0f32, -2.5, 0.0, f32::MIN_POSITIVE, 7.0, 8.0];
        let tract = tract_data::prelude::Tensor::from_shape(&[2, 3], &values).unwrap();
        let view = TensorView::from_tract("x", &tract).unwrap();
        assert_eq!(view, Tensor::f32(&[2, 3], &values).view());
        assert_eq!(
            Tensor::from_tract("x", &tract).unwrap(),
            Tensor::f32(&[2, 3], &values)
        );
        let ids = tract_data::prelude::Tensor::from_shape(&[2], &[3i64, -4]).unwrap();
        assert_eq!(
            TensorView::from_tract("ids", &ids).unwrap(),
            Tensor::i64(&[2], &[3, -4]).view()
        );
        let bytes = tract_data::prelude::Tensor::from_shape(&[1], &[1u8]).unwrap();
        assert!(TensorView::from_tract("b", &bytes).is_err());
        // Other types are carried as f32 by the owned conversion.
        assert_eq!(
            Tensor::from_tract("b", &bytes).unwrap(),
            Tensor::f32(&[1], &[1.0])
        );
        // And back: the bytes become the same tract tensors; a short one is a named error.
        assert_eq!(Tensor::f32(&[2, 3], &values).to_tract("x").unwrap(), tract);
        assert_eq!(Tensor::i64(&[2], &[3, -4]).to_tract("ids").unwrap(), ids);
        let mut short = Tensor::f32(&[2, 3], &values);
        short.data.pop();
        assert!(matches!(short.to_tract("x"), Err(NnError::Tensor { .. })));
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
