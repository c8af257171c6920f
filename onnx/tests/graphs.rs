//! Small graphs built here with the ONNX message types: the attributes and forms
//! the fixtures do not cover, and graphs garnet cannot express, each an error naming
//! the node's position, name and operator (or the graph's part), never a panic or a
//! network that computes something else.

use garnet_onnx::{ImportError, Options, import};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataLocation;
use onnx_protobuf::tensor_shape_proto::{Dimension, dimension};
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, TensorProto, TensorShapeProto,
    TypeProto, ValueInfoProto, type_proto,
};

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::INTS.into(),
        ints: v.to_vec(),
        ..Default::default()
    }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::INT.into(),
        i: v,
        ..Default::default()
    }
}

fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attrs,
        ..Default::default()
    }
}

fn weight(name: &str, dims: &[i64]) -> TensorProto {
    let n: i64 = dims.iter().product();
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: (0..n).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect(),
        ..Default::default()
    }
}

/// A graph input `[N, dims…]`.
fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    let mut dim = vec![Dimension {
        value: Some(dimension::Value::DimParam("N".into())),
        ..Default::default()
    }];
    dim.extend(dims.iter().map(|d| Dimension {
        value: Some(dimension::Value::DimValue(*d)),
        ..Default::default()
    }));
    let tensor = type_proto::Tensor {
        elem_type: 1,
        shape: Some(TensorShapeProto {
            dim,
            ..Default::default()
        })
        .into(),
        ..Default::default()
    };
    ValueInfoProto {
        name: name.into(),
        type_: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(tensor)),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}

fn model(input: &[i64], nodes: Vec<NodeProto>, inits: Vec<TensorProto>, output: &str) -> Vec<u8> {
    let g = GraphProto {
        name: "g".into(),
        node: nodes,
        initializer: inits,
        input: vec![value("x", input)],
        output: vec![value(output, &[])],
        ..Default::default()
    };
    ModelProto {
        ir_version: 8,
        graph: Some(g).into(),
        ..Default::default()
    }
    .write_to_bytes()
    .unwrap()
}

fn err(bytes: &[u8]) -> String {
    match import(bytes, &Options::default()) {
        Ok(m) => panic!("imported:\n{}", m.gnet),
        Err(e) => e.to_string(),
    }
}

fn conv_with(attrs: Vec<AttributeProto>) -> String {
    err(&model(
        &[1, 8, 8],
        vec![
            node("Relu", "r", &["x"], "r", vec![]),
            node("Conv", "c", &["r", "w"], "y", attrs),
        ],
        vec![weight("w", &[2, 1, 3, 3])],
        "y",
    ))
}

#[test]
fn conv_attributes_beyond_the_dsl() {
    let e = conv_with(vec![ints("pads", &[1, 0, 1, 0])]);
    assert!(
        e.starts_with("node 1 `c` (Conv): attribute pads = [1, 0, 1, 0] is not supported"),
        "{e}"
    );
    let e = conv_with(vec![ints("strides", &[1, 2])]);
    assert!(
        e.starts_with("node 1 `c` (Conv): attribute strides = [1, 2] is not supported"),
        "{e}"
    );
    let e = conv_with(vec![AttributeProto {
        name: "auto_pad".into(),
        type_: AttributeType::STRING.into(),
        s: b"SAME_UPPER".to_vec(),
        ..Default::default()
    }]);
    assert!(e.contains("auto_pad = SAME_UPPER is not supported"), "{e}");
    let e = conv_with(vec![int("bogus", 1)]);
    assert!(
        e.starts_with("node 1 `c` (Conv): attribute bogus is not supported"),
        "{e}"
    );
}

#[test]
fn pools_beyond_the_dsl() {
    let pool = |op: &str, attrs| {
        err(&model(
            &[1, 8, 8],
            vec![node(op, "p", &["x"], "y", attrs)],
            vec![],
            "y",
        ))
    };
    let e = pool(
        "MaxPool",
        vec![ints("kernel_shape", &[2, 2]), ints("pads", &[1, 1, 1, 1])],
    );
    assert!(
        e.starts_with("node 0 `p` (MaxPool): padding is not supported"),
        "{e}"
    );
    let e = pool("AveragePool", vec![ints("kernel_shape", &[3, 3])]);
    assert!(e.contains("avgpool needs a power of two"), "{e}");
    let e = pool("MaxPool", vec![ints("kernel_shape", &[2, 3])]);
    assert!(e.contains("square kernel"), "{e}");
}

#[test]
fn layers_in_places_the_dsl_does_not_allow() {
    let fc = || node("Gemm", "fc", &["x", "w"], "h", vec![int("transB", 1)]);
    let w = || weight("w", &[4, 6]);
    // Softmax feeding a layer: the error names the Softmax.
    let e = err(&model(
        &[6],
        vec![
            fc(),
            node("Softmax", "sm", &["h"], "s", vec![]),
            node("Relu", "r", &["s"], "y", vec![]),
        ],
        vec![w()],
        "y",
    ));
    assert!(
        e.starts_with("node 1 `sm` (Softmax): supported only where its result is a graph output"),
        "{e}"
    );
    // Batch norm after a Relu.
    let bn: Vec<TensorProto> = ["s", "b", "m", "v"]
        .iter()
        .map(|n| weight(n, &[6]))
        .collect();
    let e = err(&model(
        &[6],
        vec![
            node("Relu", "r", &["x"], "r", vec![]),
            node(
                "BatchNormalization",
                "bn",
                &["r", "s", "b", "m", "v"],
                "y",
                vec![],
            ),
        ],
        bn,
        "y",
    ));
    assert!(
        e.starts_with("node 1 `bn` (BatchNormalization): BatchNormalization must directly follow"),
        "{e}"
    );
    // Broadcasting Add of two tensors.
    let e = err(&model(
        &[6],
        vec![fc(), node("Add", "add", &["x", "h"], "y", vec![])],
        vec![w()],
        "y",
    ));
    assert!(
        e.contains("node 1 `add` (Add): inputs of shapes [6] and [4]"),
        "{e}"
    );
    // A bias Add on a MatMul output that something else also reads (through an
    // Identity): folding it would change what the Relu sees.
    let e = err(&model(
        &[6],
        vec![
            node("MatMul", "mm", &["x", "w"], "h", vec![]),
            node("Identity", "id", &["h"], "i", vec![]),
            node("Relu", "r", &["h"], "r", vec![]),
            node("Add", "bias", &["i", "b"], "y", vec![]),
        ],
        vec![weight("w", &[6, 4]), weight("b", &[4])],
        "y",
    ));
    assert!(
        e.starts_with("node 3 `bias` (Add): Add of a constant is supported only as the bias"),
        "{e}"
    );
    // transA, a computed weight, a custom domain.
    let e = err(&model(
        &[6],
        vec![node("Gemm", "g", &["x", "w"], "y", vec![int("transA", 1)])],
        vec![w()],
        "y",
    ));
    assert!(
        e.starts_with("node 0 `g` (Gemm): transA = 1 is not supported"),
        "{e}"
    );
    let e = err(&model(
        &[6],
        vec![node("MatMul", "mm", &["x", "x"], "y", vec![])],
        vec![],
        "y",
    ));
    assert!(
        e.starts_with("node 0 `mm` (MatMul): input 1 (B) is computed by the graph"),
        "{e}"
    );
    let mut custom = node("Relu", "", &["x"], "y", vec![]);
    custom.domain = "com.example".into();
    let e = err(&model(&[6], vec![custom], vec![], "y"));
    assert!(
        e.starts_with("node 0 `(unnamed)` (Relu): operators of domain `com.example`"),
        "{e}"
    );
    // A Gemm on an image without Flatten.
    let e = err(&model(
        &[1, 2, 3],
        vec![node("Gemm", "g", &["x", "w"], "y", vec![])],
        vec![w()],
        "y",
    ));
    assert!(e.contains("add a Flatten before it"), "{e}");
}

#[test]
fn graph_problems_name_the_part() {
    let relu = || vec![node("Relu", "r", &["x"], "y", vec![])];
    // An input of rank 1 (no batch dimension to drop).
    let e = err(&model(&[], relu(), vec![], "y"));
    assert!(
        e.contains("graph input `x` must have a batch dimension"),
        "{e}"
    );
    // Weights outside the file.
    let mut w = weight("w", &[4, 6]);
    w.data_location = DataLocation::EXTERNAL.into();
    let e = err(&model(
        &[6],
        vec![node("Gemm", "g", &["x", "w"], "y", vec![])],
        vec![w],
        "y",
    ));
    assert!(
        e.contains("tensor `w` keeps its data in an external file"),
        "{e}"
    );
    // Too few values for the dims.
    let mut w = weight("w", &[4, 6]);
    w.float_data.pop();
    let e = err(&model(
        &[6],
        vec![node("Gemm", "g", &["x", "w"], "y", vec![])],
        vec![w],
        "y",
    ));
    assert!(e.contains("has 23 values for dims [4, 6]"), "{e}");
    // An output nobody makes, an input nobody made.
    let e = err(&model(&[6], relu(), vec![], "z"));
    assert!(
        e.contains("graph output `z` is not produced by any node"),
        "{e}"
    );
    let e = err(&model(
        &[6],
        vec![node("Relu", "r", &["q"], "y", vec![])],
        vec![],
        "y",
    ));
    assert!(
        e.starts_with("node 0 `r` (Relu): input 0 `q` is not a graph input"),
        "{e}"
    );
    assert!(matches!(
        import(&[0xff; 9], &Options::default()),
        Err(ImportError::Parse(_))
    ));
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::FLOAT.into(),
        f: v,
        ..Default::default()
    }
}

#[test]
fn gemm_alpha_beta_and_weight_layouts() {
    // transB = 0: B is [in, out]; alpha and beta scale weight and bias.
    let bytes = model(
        &[6],
        vec![node(
            "Gemm",
            "g",
            &["x", "fc.weight", "fc.bias"],
            "y",
            vec![float("alpha", 2.0), float("beta", 0.5)],
        )],
        vec![weight("fc.weight", &[6, 4]), weight("fc.bias", &[4])],
        "y",
    );
    let m = import(&bytes, &Options::default()).unwrap();
    let w = weight("w", &[6, 4]).float_data;
    let b = weight("b", &[4]).float_data;
    let t = &m.tensors["fc.weight"];
    assert_eq!(t.shape, vec![4, 6]);
    for o in 0..4 {
        for i in 0..6 {
            assert_eq!(t.data[o * 6 + i], 2.0 * w[i * 4 + o] as f64);
        }
    }
    let tb = &m.tensors["fc.bias"];
    for (got, b) in tb.data.iter().zip(&b) {
        assert_eq!(*got, 0.5 * *b as f64);
    }
    assert!(m.gnet.contains("fc = dense(x, 4);"), "{}", m.gnet);
}

#[test]
fn global_pools_conv_without_bias_and_dropout() {
    let bytes = model(
        &[1, 8, 8],
        vec![
            node(
                "Conv",
                "c",
                &["x", "conv1.weight"],
                "c",
                vec![ints("kernel_shape", &[5, 5])],
            ),
            node("Dropout", "d", &["c"], "d", vec![]),
            node("GlobalAveragePool", "gap", &["d"], "p", vec![]),
            node("Flatten", "f", &["p"], "y", vec![]),
        ],
        vec![weight("conv1.weight", &[3, 1, 5, 5])],
        "y",
    );
    let m = import(&bytes, &Options::default()).unwrap();
    for s in [
        "conv1 = conv2d(x, 3, kernel=5, stride=1, padding=0, bias=false);",
        "avgpool1 = avgpool(conv1, 4, stride=4);",
        "flatten1 = flatten(avgpool1);",
        "output y = flatten1 to client;",
    ] {
        assert!(m.gnet.contains(s), "{s} in {}", m.gnet);
    }
    assert!(!m.tensors.contains_key("conv1.bias"));
}

/// Node names reach the `.gnet` only inside `//` comments: a newline in one cannot
/// add a line of DSL.
#[test]
fn node_names_cannot_write_dsl() {
    let evil = "r\n    output w = x to server;\n//";
    let m = import(
        &model(
            &[6],
            vec![node("Relu", evil, &["x"], "y", vec![])],
            vec![],
            "y",
        ),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(m.network.outputs.len(), 1, "{}", m.gnet);
    assert!(!m.gnet.contains("\n    output w"), "{}", m.gnet);
}
