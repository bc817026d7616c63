// Numbers as people read them: thousands separated, percentages, money with its currency.

const integer = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });

export function count(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : integer.format(value);
}

export function number(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : decimal.format(value);
}

export function share(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : percent.format(value);
}

export function money(amount: number | string | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return "–";
  const value = typeof amount === "string" ? Number(amount) : amount;
  return new Intl.NumberFormat("en", { style: "currency", currency, maximumFractionDigits: value >= 1000 ? 0 : 2 }).format(value);
}

// Minor units (cents) as money.
export function minor(amount: number | null | undefined, currency: string): string {
  return amount === null || amount === undefined ? "–" : money(amount / 100, currency);
}

export function date(iso: string | null | undefined): string {
  if (!iso) return "–";
  return new Date(iso).toLocaleDateString("en", { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  return new Date(iso).toLocaleString("en", { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC" }) + " UTC";
}

// "churn_risk" -> "Churn risk"
export function words(code: string): string {
  const text = code.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
