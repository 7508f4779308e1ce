// The station registry contract: the zod schema of contracts/stations.json and its loader.
// Every folder reads stations through loadRegistry(); nobody parses the JSON by hand.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const common = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes'),
  name: z.string().min(1),
  /** Current commune-level unit (since 1 July 2025): a ward (phường) or commune (xã). */
  ward: z.string().min(1),
  wardType: z.enum(['phường', 'xã']),
  /** The former district (abolished 1 July 2025), kept as the familiar grouping. */
  formerDistrict: z.string().min(1),
  lat: z.number().min(20.5).max(21.4),
  lon: z.number().min(105.2).max(106.1),
  /** Gateway that carries this station's readings (its MQTT identity). */
  gatewayId: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/),
  /** Nominal reporting interval in seconds (silence detection uses it). */
  intervalS: z.number().int().positive(),
};

export const FloodLevelsSchema = z
  .object({ I: z.number(), II: z.number(), III: z.number() })
  .refine((l) => l.I < l.II && l.II < l.III, 'levels must rise: I < II < III');

export const StationSchema = z.discriminatedUnion('kind', [
  z.object({ ...common, kind: z.literal('air') }),
  z.object({
    ...common,
    kind: z.literal('water'),
    /** Designated QCVN 08:2023 class of the water body. */
    waterClass: z.enum(['A', 'B', 'C', 'D']),
    river: z.string().optional(),
  }),
  z.object({ ...common, kind: z.literal('rain') }),
  z.discriminatedUnion('floodType', [
    z.object({
      ...common,
      kind: z.literal('flood'),
      floodType: z.literal('river'),
      river: z.string().min(1),
      gauge: z.string().min(1),
      /** Alert levels I/II/III in metres at the gauge (Decision 05/2020/QĐ-TTg). */
      levelsM: FloodLevelsSchema,
    }),
    z.object({ ...common, kind: z.literal('flood'), floodType: z.literal('street') }),
  ]),
]);
export type Station = z.infer<typeof StationSchema>;

export const RegistrySchema = z
  .object({
    /** Bumped whenever stations are added, moved or removed. */
    version: z.number().int().positive(),
    updated: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    stations: z.array(StationSchema).min(1),
  })
  .superRefine((reg, ctx) => {
    const seen = new Set<string>();
    for (const s of reg.stations) {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', message: `duplicate station id ${s.id}` });
      seen.add(s.id);
    }
  });
export type RegistryFile = z.infer<typeof RegistrySchema>;

export interface Registry {
  readonly version: number;
  readonly stations: readonly Station[];
  get(id: string): Station | undefined;
  /** Stations carried by one gateway. */
  ofGateway(gatewayId: string): readonly Station[];
}

export const DEFAULT_REGISTRY_PATH = new URL('./stations.json', import.meta.url);

export function createRegistry(file: RegistryFile): Registry {
  const byId = new Map(file.stations.map((s) => [s.id, s]));
  const byGateway = new Map<string, Station[]>();
  for (const s of file.stations) {
    const list = byGateway.get(s.gatewayId) ?? [];
    list.push(s);
    byGateway.set(s.gatewayId, list);
  }
  return Object.freeze({
    version: file.version,
    stations: Object.freeze([...file.stations]),
    get: (id: string) => byId.get(id),
    ofGateway: (gatewayId: string) => byGateway.get(gatewayId) ?? [],
  });
}

/** Reads and validates a registry file; throws a readable error listing every problem. */
export function loadRegistry(path: string | URL = DEFAULT_REGISTRY_PATH): Registry {
  const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const parsed = RegistrySchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`invalid station registry ${String(path)}:\n${z.prettifyError(parsed.error)}`);
  }
  return createRegistry(parsed.data);
}
