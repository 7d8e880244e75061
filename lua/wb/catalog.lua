-- wb.catalog: AWS instance types and their accelerators, the facts the validator and planner use.
-- Every figure cites its source (see shared/reference/catalog.md). Prices are us-east-1 on-demand
-- USD per instance-hour and change: a recipe overrides them with cluster.price_per_hour.
-- Units: device_memory_gib in GiB, peak_tflops dense BF16/FP16 per device, memory_bw_gbs and
-- intra_node_gbs in GB/s per device and direction, efa_gbps in Gbit/s per node.
local catalog = {}

-- A100 SXM: 312 TFLOP/s dense BF16 (Narayanan et al. 2021 §5); 40 GB at 1.555 TB/s and 80 GB at
-- 2.0 TB/s HBM2e (NVIDIA A100 datasheet); NVLink3 600 GB/s bidirectional = 300 per direction.
catalog["p4d.24xlarge"] = {
  device = "A100 SXM4 40GB", devices = 8,
  device_memory_gib = 40, peak_tflops = 312, memory_bw_gbs = 1555, intra_node_gbs = 300,
  efa_gbps = 400,          -- EFAv1, AWS p4d product page
  price_per_hour = 32.77,  -- April 2023 (seed: 生成系 AI の学習向け Amazon EC2 の選択肢); 21.96 after June 2025 (2nd)
  price_note = "32.77 USD, us-east-1 on-demand, April 2023",
}
catalog["p4de.24xlarge"] = {
  device = "A100 SXM4 80GB", devices = 8,
  device_memory_gib = 80, peak_tflops = 312, memory_bw_gbs = 2000, intra_node_gbs = 300,
  efa_gbps = 400,
  price_per_hour = 40.96,  -- April 2023 (seed)
  price_note = "40.96 USD, us-east-1 on-demand, April 2023",
}
-- H100 SXM5: 989.4 TFLOP/s dense BF16, 80 GB HBM3 at 3.35 TB/s, NVLink4 900 GB/s bidirectional
-- (NVIDIA H100 datasheet, 2nd).
catalog["p5.48xlarge"] = {
  device = "H100 SXM5", devices = 8,
  device_memory_gib = 80, peak_tflops = 989.4, memory_bw_gbs = 3350, intra_node_gbs = 450,
  efa_gbps = 3200,         -- EFAv2, AWS p5 product page
  price_per_hour = 55.04,  -- after the June 2025 price cut (2nd); 98.32 before
  price_note = "55.04 USD, us-east-1 on-demand, June 2025 (secondary source)",
}
-- H200: same compute as H100, 141 GB HBM3e at 4.8 TB/s (2nd). Capacity blocks only: no on-demand
-- price, so a plan needs cluster.price_per_hour.
catalog["p5e.48xlarge"] = {
  device = "H200", devices = 8,
  device_memory_gib = 141, peak_tflops = 989.4, memory_bw_gbs = 4800, intra_node_gbs = 450,
  efa_gbps = 3200,
  price_note = "capacity blocks only; set cluster.price_per_hour",
}
-- Trainium: 190 TFLOP/s BF16, 32 GiB HBM at 820 GiB/s, NeuronLink-v2 384 GB/s (trn1) and 768
-- (trn1n) per device (AWS Neuron docs, trainium.rst).
catalog["trn1.32xlarge"] = {
  device = "Trainium", devices = 16,
  device_memory_gib = 32, peak_tflops = 190, memory_bw_gbs = 880, intra_node_gbs = 192,
  efa_gbps = 800,
  price_per_hour = 21.50,  -- AWS trn1 pricing page (catalog.md)
  price_note = "21.50 USD, us-east-1 on-demand",
}
catalog["trn1n.32xlarge"] = {
  device = "Trainium", devices = 16,
  device_memory_gib = 32, peak_tflops = 190, memory_bw_gbs = 880, intra_node_gbs = 384,
  efa_gbps = 1600,
  price_per_hour = 24.78,
  price_note = "24.78 USD, us-east-1 on-demand",
}
-- Trainium2: 667 TFLOP/s dense BF16 (newer Neuron docs; 655 in older ones), 96 GiB at 2.9 TB/s,
-- NeuronLink-v3 1.28 TB/s (trainium2.rst). Capacity blocks only (2nd).
catalog["trn2.48xlarge"] = {
  device = "Trainium2", devices = 16,
  device_memory_gib = 96, peak_tflops = 667, memory_bw_gbs = 2900, intra_node_gbs = 640,
  efa_gbps = 3200,
  price_note = "capacity blocks only; set cluster.price_per_hour",
}
-- Gaudi (dl1): 32 GB HBM2, 100 Gbps RoCE per card. Peak TFLOP/s and bandwidth are unverified:
-- the planner treats them as overridable estimates.
catalog["dl1.24xlarge"] = {
  device = "Gaudi", devices = 8,
  device_memory_gib = 32, peak_tflops = 0, memory_bw_gbs = 0, intra_node_gbs = 12.5,
  efa_gbps = 400,
  price_per_hour = 13.11,  -- April 2023 (seed)
  price_note = "13.11 USD, us-east-1 on-demand, April 2023",
}
-- This machine: sizes are measured at run time (`wb plan --calibrate`); one device per process.
catalog["local"] = {
  device = "CPU", devices = 1, ["local"] = true,
  price_note = "this machine",
}

return catalog
