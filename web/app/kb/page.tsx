"use client";

import { useCallback, useEffect, useState } from "react";
import { Shell } from "@/components/Shell";
import { Empty, ErrorNote, Loading, errorMessage, input, primaryButton, secondaryButton } from "@/components/ui";
import { api, orgPath, type Chunk, type KbDocument, type SearchHit } from "@/lib/api";
import { useSession } from "@/lib/session";

type WithChunks = KbDocument & { chunks: Chunk[] };

function KnowledgeBase() {
  const { org } = useSession();
  const orgId = org!.organization_id;
  const isAdmin = org?.role === "admin";
  const [documents, setDocuments] = useState<KbDocument[] | null>(null);
  const [open, setOpen] = useState<WithChunks | null>(null);
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setDocuments((await api<{ items: KbDocument[] }>(orgPath(orgId, "documents/?limit=100"))).items);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [orgId]);
  useEffect(() => {
    void load();
  }, [load]);

  const show = async (id: string) => {
    try {
      setOpen(await api<WithChunks>(orgPath(orgId, `documents/${id}/`)));
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
      <section aria-label="Search" className="flex flex-col gap-3">
        <form
          className="flex gap-2"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            try {
              setHits((await api<{ items: SearchHit[] }>(orgPath(orgId, `kb/search/?q=${encodeURIComponent(query)}`))).items);
            } catch (err) {
              setError(errorMessage(err));
            }
          }}
        >
          <label className="sr-only" htmlFor="kb-search">Search the knowledge base</label>
          <input id="kb-search" className={input} type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Search the knowledge base" required />
          <button className={primaryButton} type="submit">Search</button>
        </form>
        <ErrorNote error={error} />
        {hits && (hits.length === 0 ? <Empty>Nothing found.</Empty> : (
          <ol className="flex flex-col gap-2">
            {hits.map((h) => (
              <li key={h.id} className="rounded-md bg-white p-3 text-sm ring-1 ring-slate-200">
                <p className="text-xs font-medium text-slate-600">{h.title} · score {h.score.toFixed(3)}</p>
                <p className="whitespace-pre-wrap">{h.content}</p>
              </li>
            ))}
          </ol>
        ))}
        <h2 className="mt-4 font-medium">Documents</h2>
        {documents === null ? <Loading /> : documents.length === 0 ? <Empty>No documents yet.</Empty> : (
          <ul className="divide-y divide-slate-200 rounded-md bg-white ring-1 ring-slate-200">
            {documents.map((d) => (
              <li key={d.id}>
                <button className="w-full px-3 py-2 text-left text-sm hover:bg-slate-50" onClick={() => show(d.id)}>{d.title}</button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-label="Document" className="flex flex-col gap-3">
        {isAdmin && (
          <form
            className="flex flex-col gap-2 rounded-md bg-white p-3 ring-1 ring-slate-200"
            onSubmit={async (e) => {
              e.preventDefault();
              setError(null);
              try {
                const created = await api<WithChunks>(orgPath(orgId, "documents/"), { method: "POST", body: { title, body, content_type: "markdown" } });
                setTitle("");
                setBody("");
                setOpen(created);
                await load();
              } catch (err) {
                setError(errorMessage(err));
              }
            }}
          >
            <h2 className="font-medium">Add a document</h2>
            <label className="text-xs text-slate-600">Title<input className={input} value={title} onChange={(e) => setTitle(e.target.value)} required /></label>
            <label className="text-xs text-slate-600">Text or markdown<textarea className={`${input} h-32`} value={body} onChange={(e) => setBody(e.target.value)} required /></label>
            <button className={primaryButton} type="submit">Add document</button>
          </form>
        )}
        {open && (
          <article className="flex flex-col gap-2">
            <div className="flex items-center gap-2">
              <h2 className="font-medium">{open.title}</h2>
              {isAdmin && (
                <button
                  className={`${secondaryButton} ml-auto`}
                  onClick={async () => {
                    try {
                      await api(orgPath(orgId, `documents/${open.id}/`), { method: "DELETE" });
                      setOpen(null);
                      await load();
                    } catch (err) {
                      setError(errorMessage(err));
                    }
                  }}
                >
                  Delete
                </button>
              )}
            </div>
            <p className="text-xs text-slate-500">{open.chunks.length} chunks</p>
            <ol className="flex flex-col gap-2">
              {open.chunks.map((c) => (
                <li key={c.id} className="rounded-md bg-white p-2 text-sm ring-1 ring-slate-200" data-testid="chunk">
                  <p className="text-xs text-slate-500">#{c.chunk_index} · characters {c.char_start}–{c.char_end}</p>
                  <p className="whitespace-pre-wrap">{c.content}</p>
                </li>
              ))}
            </ol>
          </article>
        )}
      </section>
    </div>
  );
}

export default function KbPage() {
  return (
    <Shell>
      <KnowledgeBase />
    </Shell>
  );
}
