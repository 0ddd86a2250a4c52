/** The string formats the schemas use, for the validators generated from them. */
export const formats = {
  'date-time': {
    validate: (value: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value) && !Number.isNaN(Date.parse(value)),
  },
}
