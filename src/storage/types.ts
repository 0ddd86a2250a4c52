// The seed's storage types, as ax 15 to 21 had them, so code written against the seed compiles unchanged.

export interface AxTokenUsageSummary {
  promptTokens: number
  completionTokens: number
  totalTokens: number
}

export interface AxTraceFeedback {
  score?: number
  label?: string
  comment?: string
}

export interface AxTrace {
  type: 'trace'
  id: string
  name: string
  input: Record<string, unknown>
  output: Record<string, unknown>
  startTime: Date
  endTime: Date
  durationMs: number
  model?: string
  usage?: AxTokenUsageSummary
  feedback?: AxTraceFeedback
  error?: string
  metadata?: Record<string, unknown>
}

export interface AxCheckpoint {
  type: 'checkpoint'
  name: string
  version: number
  createdAt: Date
  instruction?: string
  examples?: Record<string, unknown>[]
  score?: number
  optimizerType?: string
  metadata?: Record<string, unknown>
}

export interface AxStorageQuery {
  type: 'trace' | 'checkpoint'
  since?: Date
  until?: Date
  limit?: number
  offset?: number
  id?: string
  version?: number
  hasFeedback?: boolean
}

export type AxStorageItem = AxTrace | AxCheckpoint

export interface AxStorage {
  save(name: string, item: AxStorageItem): Promise<void>
  load(name: string, query: AxStorageQuery): Promise<AxStorageItem[]>
}
