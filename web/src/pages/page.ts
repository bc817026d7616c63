import type { Api } from "../api";

export interface PageContext {
  api: Api;
  params: string[];  // the route's parts after the page's own ("#/members/ana" -> ["ana"])
  navigate: (...parts: string[]) => void;
  refresh: () => Promise<void>;
}

export type Page = (ctx: PageContext) => Promise<HTMLElement>;
