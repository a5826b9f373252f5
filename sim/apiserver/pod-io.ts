// What the API server needs of the nodes for pods/log and pods/exec: reads of a container's log and interactive
// commands, by calls alone (long polls), so that whatever carries the node interface carries these too.
import type { V1Pod } from '@kubernetes/client-node';
import type { LogRead } from '../cluster/containers.ts';
import type { ExecRead } from '../cluster/exec-sessions.ts';

export interface PodIo {
  readLog(pod: V1Pod, container: string, o: { previous?: boolean; offset?: number; tailLines?: number; waitMs?: number }): Promise<LogRead>;
  execStart(pod: V1Pod, container: string, argv: string[], o: { stdin: boolean; tty: boolean }): Promise<string>;
  execInput(pod: V1Pod, id: string, data: string | undefined, close: boolean): Promise<void>;
  execRead(pod: V1Pod, id: string, waitMs: number): Promise<ExecRead>;
  execKill(pod: V1Pod, id: string): Promise<void>;
}
