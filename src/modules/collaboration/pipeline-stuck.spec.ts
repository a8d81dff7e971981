import { isStuck } from './pipeline-stuck';

describe('isStuck', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);

  it('is a running pipeline with no progress for longer than the limit', () => {
    expect(isStuck({ status: 'running', progressAt: ago(60_001) }, 60_000, now)).toBe(true);
    expect(isStuck({ status: 'running', progressAt: ago(60_000) }, 60_000, now)).toBe(false);
  });

  it('is never a pipeline that is not running, or that has not started a step', () => {
    expect(isStuck({ status: 'failed', progressAt: ago(3_600_000) }, 60_000, now)).toBe(false);
    expect(isStuck({ status: 'done', progressAt: ago(3_600_000) }, 60_000, now)).toBe(false);
    expect(isStuck({ status: 'running', progressAt: null }, 60_000, now)).toBe(false);
    expect(isStuck(null, 60_000, now)).toBe(false);
  });
});
