// Building an Intl.NumberFormat costs more than a whole step of the demo: one per currency.
const formats = new Map<string, Intl.NumberFormat>();

/** "$49.99" for 4999 USD, "¥500" for 500 JPY: minor units in the currency's own exponent. */
export function formatMoney(amount: number, currency: string): string {
  try {
    let format = formats.get(currency);
    if (!format) {
      format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
      formats.set(currency, format);
    }
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(amount / 10 ** digits);
  } catch {
    return `${amount} ${currency} (minor units)`;
  }
}
