/** Styles of the probe's token roles: tokens that carry the answer are coloured and bold, filler is grey. */
import type { RoleStyle } from '../charts/heatmap';
import type { TokenRole } from '../tasks';

export const ROLE_STYLES: Record<TokenRole, RoleStyle> = {
  noise: { name: 'noise', color: '#cbd5e1', emphasize: false },
  data: { name: 'data token', color: '#ea580c', emphasize: true },
  marker: { name: 'marker', color: '#7c3aed', emphasize: true },
  token: { name: 'token', color: '#cbd5e1', emphasize: false },
  trigger: { name: 'trigger', color: '#7c3aed', emphasize: true },
  recall: { name: 'recall token', color: '#ea580c', emphasize: true },
};
