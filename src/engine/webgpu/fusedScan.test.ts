import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fused from './fusedScan';
import * as gpuOps from './kernels';
import { expectScanGrads, makeScanCase, SCAN_VARIANTS, uploadScanCase, type ScanCase } from './scanTesting';
import { expectClose, openGpu, runAndRead, type GpuFixture } from './testing';

let gpu: GpuFixture;
beforeAll(async () => {
  gpu = await openGpu();
});
afterAll(() => gpu?.close());

/** The WebGPU minimum limits, which every device offers. */
const MINIMUM_LIMITS: fused.ScanLimits = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBuffersPerShaderStage: 8,
};

/** Runs the fused forward pass and compares out, Δ and the chunk states with the CPU reference. */
async function checkForward(sc: ScanCase) {
  const { ctx, device } = gpu;
  const { b, l, d, n } = sc.shape;
  const plan = fused.planFusedScan(device.limits, sc.shape);
  const { inputs } = uploadScanCase(ctx, sc);
  const out = ctx.createStorage('test: out', b * l * d);
  const delta = ctx.createStorage('test: delta', b * l * d);
  const workspace = ctx.createStorage('test: workspace', plan.workspace.total);
  const got = await runAndRead(ctx, [await fused.selectiveScanFusedForward(ctx, out, delta, workspace, inputs, sc.shape, plan)], {
    out: [out, b * l * d], delta: [delta, b * l * d], workspace: [workspace, plan.workspace.total],
  });

  expectClose('out', got.out, sc.want.out);
  expectClose('delta', got.delta, sc.want.delta);
  // Chunk k starts from h_{k·chunk − 1}, and chunk 0 from zeros.
  const wantStates = new Float32Array(b * plan.chunks * d * n);
  for (let bi = 0; bi < b; bi++) {
    for (let k = 1; k < plan.chunks; k++) {
      const from = ((bi * l + k * plan.chunk - 1) * d) * n;
      wantStates.set(sc.want.states.subarray(from, from + d * n), ((bi * plan.chunks + k) * d) * n);
    }
  }
  expectClose('chunk states', got.workspace.subarray(plan.workspace.states, plan.workspace.y), wantStates);
}

/**
 * Runs forward, backward and the reduction, and compares every gradient with the
 * CPU reference. The plan comes from the device's limits unless others are given.
 */
async function checkBackward(sc: ScanCase, limits: fused.ScanLimits = gpu.device.limits) {
  const { ctx } = gpu;
  const { b, l, d } = sc.shape;
  const tokens = b * l * d;
  const plan = fused.planFusedScan(limits, sc.shape);
  const { inputs, grads, dout, dXdbl } = uploadScanCase(ctx, sc);
  const out = ctx.createStorage('test: out', tokens);
  const workspace = ctx.createStorage('test: workspace', plan.workspace.total);
  const tokenGrads = ctx.createStorage('test: token grads', fused.fusedScanTokenGradFloats(sc.shape));
  const g: fused.FusedScanGradTensors = {
    ...fused.fusedScanTokenGrads(tokenGrads, sc.shape), dXdbl, A_log: grads.A_log, D: grads.D, deltaBias: grads.deltaBias,
    B: grads.B, C: grads.C,
  };
  const commands = [
    await fused.selectiveScanFusedForward(ctx, out, null, workspace, inputs, sc.shape, plan),
    ...(await fused.selectiveScanFusedBackward(ctx, g, dout, workspace, inputs, sc.shape, plan)),
  ];
  const got = await runAndRead(ctx, commands, {
    tokenGrads: [tokenGrads, 3 * tokens], dXdbl: [dXdbl, b * l * sc.shape.rowStride], grads: [grads.buffer, sc.params.length],
  });

  expectScanGrads(sc, {
    du: got.tokenGrads.subarray(0, tokens), dDelta: got.tokenGrads.subarray(tokens, 2 * tokens), dz: got.tokenGrads.subarray(2 * tokens),
    dXdbl: got.dXdbl, grads: got.grads,
  });
}

/**
 * Each length once, and each d_state among them, with channel counts that are
 * not powers of two. The long sequences have few channels, so that SwiftShader
 * runs them quickly.
 */
const CASES = [
  { l: 1, b: 2, d: 5, n: 16 },
  { l: 7, b: 3, d: 6, n: 1 },
  { l: 64, b: 2, d: 20, n: 16 },
  { l: 1000, b: 1, d: 3, n: 64 },
  { l: 4097, b: 1, d: 2, n: 16 },
];

describe('fused selective scan', () => {
  it('scan plan fits minimum limits', () => {
    for (const n of [1, 4, 16, 64]) {
      for (const d of [1, 5, 1024]) {
        for (const l of [1, 7, 4097]) {
          const plan = fused.planFusedScan(MINIMUM_LIMITS, { b: 1, l, d, n });
          expect(plan.workgroupBytes, `workgroup memory at n ${n}, d ${d}, l ${l}`).toBeLessThanOrEqual(16384);
          expect(plan.workgroupSize).toBeLessThanOrEqual(256);
          expect(plan.channels * plan.lanes).toBe(plan.workgroupSize);
          expect(plan.chunk, `chunk at n ${n}, d ${d}, l ${l}`).toBeGreaterThanOrEqual(n);
          // Partials of ∂L/∂B and ∂L/∂C: n · groups per token, within d when d ≥ n.
          if (d >= n) expect(plan.groups * n, `partials at n ${n}, d ${d}`).toBeLessThanOrEqual(d);
        }
      }
    }
  });

  it('scan plan follows larger limits', () => {
    const limits = { ...MINIMUM_LIMITS, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupStorageSize: 32768 };
    expect(fused.planFusedScan(limits, { b: 1, l: 65536, d: 1024, n: 16 }).workgroupSize).toBe(1024);
    // Short sequences do not get lanes that would have no steps.
    expect(fused.planFusedScan(limits, { b: 1, l: 9, d: 16, n: 4 }).workgroupSize).toBe(32);
    const tight = { ...limits, maxComputeWorkgroupStorageSize: 8192 };
    expect(fused.planFusedScan(tight, { b: 1, l: 65536, d: 1024, n: 16 }).workgroupSize).toBe(256);
  });

  it('scan plan rejects too few storage buffers', () => {
    expect(() => fused.planFusedScan({ ...MINIMUM_LIMITS, maxStorageBuffersPerShaderStage: 4 }, { b: 1, l: 8, d: 8, n: 4 }))
      .toThrow(/maxStorageBuffersPerShaderStage = 4/);
    expect(() => fused.planFusedScan(MINIMUM_LIMITS, { b: 1, l: 8, d: 8, n: 65 })).toThrow(/d_state = 65 is invalid/);
  });

  for (const [i, { l, b, d, n }] of CASES.entries()) {
    it(`fused scan forward at length ${l}`, async () => {
      await checkForward(makeScanCase(60 + i, b, l, d, n));
    });

    it(`fused scan backward at length ${l}`, async () => {
      await checkBackward(makeScanCase(60 + i, b, l, d, n));
    });
  }

  for (const [name, variant] of SCAN_VARIANTS) {
    it(`fused scan with ${name}`, async () => {
      // 16 invocations give 8 channels 2 lanes of 16 steps: 37 steps make 2 chunks, the last one short,
      // 5 channels leave the group partly empty, and d_state 6 makes a partial group of 4 states.
      const sc = makeScanCase(75, 2, 37, 5, 6, variant);
      const limits = { ...MINIMUM_LIMITS, maxComputeInvocationsPerWorkgroup: 16 };
      const plan = fused.planFusedScan(limits, sc.shape);
      expect([plan.workgroupSize, plan.chunks, plan.groups]).toEqual([16, 2, 1]);
      await checkForward(sc);
      await checkBackward(sc, limits);
    });
  }

  it('fused scan plan checks fixed B and C', () => {
    const shape = makeScanCase(76, 1, 4, 2, 3, { variableB: false }).shape;
    const plan = fused.planFusedScan(gpu.device.limits, { ...shape, variableB: true });
    expect(plan.paramWidth).toBe(5);
    expect(fused.planFusedScan(gpu.device.limits, shape).paramWidth).toBe(8);
  });

  it('fused scan backward over channel groups', async () => {
    // d_state 64 puts 64 channels in a workgroup, so 67 channels make two groups, one nearly empty.
    await checkBackward(makeScanCase(70, 2, 70, 67, 64));
  });

  it('fused scan with small workgroups', async () => {
    // 64 invocations give 16 channels 4 lanes of 16 steps: chunks of 64 steps, 5 of them, over 2 channel groups.
    const limits = { ...MINIMUM_LIMITS, maxComputeInvocationsPerWorkgroup: 64 };
    const sc = makeScanCase(72, 1, 300, 20, 16);
    const plan = fused.planFusedScan(limits, sc.shape);
    expect([plan.workgroupSize, plan.lanes, plan.items, plan.chunks, plan.groups]).toEqual([64, 4, 16, 5, 2]);
    await checkBackward(sc, limits);
  });

  it('chunked scan equals sequential scan', async () => {
    const { ctx, device } = gpu;
    const sc = makeScanCase(71, 2, 700, 9, 16);
    const { b, l, d, n } = sc.shape;
    const tokens = b * l * d;
    const plan = fused.planFusedScan(device.limits, sc.shape);
    expect(plan.chunks).toBeGreaterThan(2);
    const { inputs } = uploadScanCase(ctx, sc);
    const fusedOut = ctx.createStorage('test: fused out', tokens);
    const workspace = ctx.createStorage('test: workspace', plan.workspace.total);
    const yPre = ctx.createStorage('test: sequential y', tokens);
    const sequentialOut = ctx.createStorage('test: sequential out', tokens);
    const delta = ctx.createStorage('test: sequential delta', tokens);
    const states = ctx.createStorage('test: sequential states', tokens * n);
    const got = await runAndRead(ctx, [
      await fused.selectiveScanFusedForward(ctx, fusedOut, null, workspace, inputs, sc.shape, plan),
      await gpuOps.selectiveScanForward(ctx, yPre, delta, states, inputs, sc.shape),
      await gpuOps.siluGateForward(ctx, sequentialOut, yPre, sc.variant.gate === 'none' ? yPre : ctx.upload('test: z', sc.z), tokens),
    ], {
      fusedOut: [fusedOut, tokens], sequentialOut: [sequentialOut, tokens], states: [states, tokens * n],
      workspace: [workspace, plan.workspace.total],
    });

    expectClose('out', got.fusedOut, got.sequentialOut);
    for (let bi = 0; bi < b; bi++) {
      for (let k = 1; k < plan.chunks; k++) {
        const from = ((bi * l + k * plan.chunk - 1) * d) * n;
        const at = plan.workspace.states + ((bi * plan.chunks + k) * d) * n;
        expectClose(`state entering chunk ${k} of row ${bi}`, got.workspace.subarray(at, at + d * n), got.states.subarray(from, from + d * n));
      }
    }
  });
});
