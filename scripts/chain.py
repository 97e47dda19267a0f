"""A width-8 ReLU chain of DEPTH Gemm layers (seeded), for docs/benchmarks.md
"Load time against depth". Usage: python scripts/chain.py DEPTH out.onnx (needs onnx)."""
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
depth=int(sys.argv[1]); w=8
rng=np.random.default_rng(0)
nodes=[]; inits=[]
cur='x'
for i in range(depth):
    W=rng.normal(0,1/np.sqrt(w),(w,w)).astype(np.float32); b=np.zeros(w,np.float32)
    inits += [numpy_helper.from_array(W,f'W{i}'), numpy_helper.from_array(b,f'b{i}')]
    nodes.append(helper.make_node('Gemm',[cur,f'W{i}',f'b{i}'],[f'h{i}'],transB=1))
    if i<depth-1:
        nodes.append(helper.make_node('Relu',[f'h{i}'],[f'r{i}'])); cur=f'r{i}'
    else: cur=f'h{i}'
nodes[-1].output[0]='y'
g=helper.make_graph(nodes,'chain',[helper.make_tensor_value_info('x',TensorProto.FLOAT,[1,w])],[helper.make_tensor_value_info('y',TensorProto.FLOAT,[1,w])],inits)
m=helper.make_model(g,opset_imports=[helper.make_opsetid('',13)])
onnx.save(m,sys.argv[2])
