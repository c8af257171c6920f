//! Reading the parts of an ONNX protobuf the importer needs: constant tensors and
//! node attributes, each checked (sizes, element types) so a corrupt file is an error.

use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataLocation;
use onnx_protobuf::{AttributeProto, NodeProto, TensorProto};

/// Largest constant accepted (elements): bounds memory on a corrupt `dims`.
const MAX_ELEMENTS: usize = 1 << 28;

/// A constant tensor (initializer or `Constant` node), values widened to f64.
#[derive(Debug, Clone)]
pub(crate) struct Const {
    /// The ONNX name (initializers keep PyTorch's `state_dict` names, e.g. `fc1.weight`).
    pub name: String,
    pub dims: Vec<usize>,
    pub values: Vec<f64>,
    /// Integer element type (int32/int64): the values are exact integers.
    pub integer: bool,
}

impl Const {
    /// Dimensions without leading 1s (`[1, 16]` broadcasts as `[16]`).
    pub fn squeezed(&self) -> &[usize] {
        let lead = self.dims.iter().take_while(|d| **d == 1).count();
        &self.dims[lead.min(self.dims.len().saturating_sub(1))..]
    }
}

fn element_type(dt: i32) -> &'static str {
    match dt {
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        16 => "bfloat16",
        _ => "an unknown type",
    }
}

/// Decodes a tensor, checking that its data has as many elements as its dims.
pub(crate) fn tensor(t: &TensorProto) -> Result<Const, String> {
    if t.data_location.enum_value() == Ok(DataLocation::EXTERNAL) {
        return Err(format!(
            "tensor `{}` keeps its data in an external file; export with the weights inside the .onnx",
            t.name
        ));
    }
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut count: usize = 1;
    for &d in &t.dims {
        let d =
            usize::try_from(d).map_err(|_| format!("tensor `{}` has dims {:?}", t.name, t.dims))?;
        count = count
            .checked_mul(d)
            .filter(|c| *c <= MAX_ELEMENTS)
            .ok_or_else(|| format!("tensor `{}` is too large (dims {:?})", t.name, t.dims))?;
        dims.push(d);
    }
    let raw = &t.raw_data;
    let from_raw = |width: usize| -> Result<Vec<&[u8]>, String> {
        if raw.len() != count * width {
            return Err(format!(
                "tensor `{}` has {} bytes of data for dims {:?} ({} expected)",
                t.name,
                raw.len(),
                t.dims,
                count * width
            ));
        }
        Ok(raw.chunks_exact(width).collect())
    };
    let (values, integer): (Vec<f64>, bool) = match t.data_type {
        1 if !raw.is_empty() => (
            from_raw(4)?
                .iter()
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect(),
            false,
        ),
        1 => (t.float_data.iter().map(|v| *v as f64).collect(), false),
        11 if !raw.is_empty() => (
            from_raw(8)?
                .iter()
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            false,
        ),
        11 => (t.double_data.clone(), false),
        7 if !raw.is_empty() => (
            from_raw(8)?
                .iter()
                .map(|c| {
                    i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64
                })
                .collect(),
            true,
        ),
        7 => (t.int64_data.iter().map(|v| *v as f64).collect(), true),
        6 if !raw.is_empty() => (
            from_raw(4)?
                .iter()
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect(),
            true,
        ),
        6 => (t.int32_data.iter().map(|v| *v as f64).collect(), true),
        dt => {
            return Err(format!(
                "tensor `{}` has element type {} (float, double, int32 and int64 are supported)",
                t.name,
                element_type(dt)
            ));
        }
    };
    if values.len() != count {
        return Err(format!(
            "tensor `{}` has {} values for dims {:?} ({count} expected)",
            t.name,
            values.len(),
            t.dims
        ));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!("tensor `{}` has a non-finite value at {i}", t.name));
    }
    Ok(Const {
        name: t.name.clone(),
        dims,
        values,
        integer,
    })
}

/// The attributes of one node, read by name; `check` rejects the names a handler
/// does not know, so an attribute that would change the result is never ignored.
pub(crate) struct Attrs<'a>(&'a [AttributeProto]);

impl<'a> Attrs<'a> {
    pub fn of(node: &'a NodeProto) -> Self {
        Attrs(&node.attribute)
    }

    fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.0.iter().find(|a| a.name == name)
    }

    /// The first attribute whose name is not in `known`.
    pub fn unknown(&self, known: &[&str]) -> Option<&'a str> {
        self.0
            .iter()
            .map(|a| a.name.as_str())
            .find(|n| !known.contains(n))
    }

    fn typed(&self, name: &str, ty: AttributeType) -> Result<Option<&'a AttributeProto>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(a) if a.type_.enum_value() == Ok(ty) => Ok(Some(a)),
            Some(_) => Err(format!("attribute {name} is not of type {ty:?}")),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, String> {
        Ok(self.typed(name, AttributeType::INT)?.map(|a| a.i))
    }

    pub fn ints(&self, name: &str) -> Result<Option<&'a [i64]>, String> {
        Ok(self
            .typed(name, AttributeType::INTS)?
            .map(|a| a.ints.as_slice()))
    }

    pub fn float(&self, name: &str) -> Result<Option<f32>, String> {
        Ok(self.typed(name, AttributeType::FLOAT)?.map(|a| a.f))
    }

    pub fn floats(&self, name: &str) -> Result<Option<&'a [f32]>, String> {
        Ok(self
            .typed(name, AttributeType::FLOATS)?
            .map(|a| a.floats.as_slice()))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self
            .typed(name, AttributeType::STRING)?
            .map(|a| String::from_utf8_lossy(&a.s).into_owned()))
    }

    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, String> {
        Ok(self
            .typed(name, AttributeType::TENSOR)?
            .and_then(|a| a.t.as_ref()))
    }
}
