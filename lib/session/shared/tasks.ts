/**
 * Tasks (MCP 2025-11-25) through a shared child: a task belongs to the
 * session whose request created it. Another session's task is unknown to a
 * session (`-32602`, as if it did not exist), and `tasks/list` shows only
 * the session's own tasks (so a page may hold fewer than the child sent).
 *
 * @module
 */

import { ErrorCode, errorResponse } from "../../jsonrpc/message.ts";

/** What a request about tasks needs. */
export interface TaskRule {
  /** The error to answer at once, instead of forwarding. */
  refusal?: string;
  /** Applied to the child's successful answer. */
  transform?: (text: string) => string;
}

/**
 * The rule for one request of `session`.
 *
 * @param session The session asking.
 * @param key The request's id, as written.
 * @param method Its method.
 * @param params Its params.
 * @param owners Which session created each task (updated here).
 * @returns A refusal, a transform of the answer, or neither.
 */
export function taskRule<S>(
  session: S,
  key: string,
  method: string,
  params: Record<string, unknown>,
  owners: Map<string, S>,
): TaskRule {
  if (method === "tasks/list") {
    return {
      transform: (text) =>
        ownTasksOnly(text, key, (id) => owners.get(id) === session),
    };
  }
  if (method.startsWith("tasks/")) {
    const id = params.taskId;
    if (typeof id !== "string" || owners.get(id) === session) return {};
    return {
      refusal: errorResponse(
        key,
        ErrorCode.InvalidParams,
        `Invalid params: no task ${JSON.stringify(id)} in this session`,
      ),
    };
  }
  if (!("task" in params)) return {};
  // A task-augmented request: the task it creates is this session's.
  return {
    transform: (text) => {
      const id = createdTaskId(text);
      if (id !== undefined) owners.set(id, session);
      return text;
    },
  };
}

/** The `result.task.taskId` of a CreateTaskResult response. */
function createdTaskId(text: string): string | undefined {
  try {
    const id = JSON.parse(text)?.result?.task?.taskId;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

/** A `tasks/list` response with only the tasks `mine` accepts. */
function ownTasksOnly(
  text: string,
  key: string,
  mine: (id: string) => boolean,
): string {
  try {
    const result = JSON.parse(text)?.result;
    if (!Array.isArray(result?.tasks)) return text;
    result.tasks = result.tasks.filter((task: { taskId?: unknown }) =>
      typeof task?.taskId === "string" && mine(task.taskId)
    );
    return `{"jsonrpc":"2.0","id":${key},"result":${JSON.stringify(result)}}`;
  } catch {
    return text;
  }
}
