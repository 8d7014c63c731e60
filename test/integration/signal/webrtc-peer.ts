import { RTCPeerConnection, type RTCDataChannel } from 'werift';
import type { Frame, SignalClient } from '../../helpers/ws-client.js';

/**
 * The SDP without its candidate lines: werift writes the candidates it gathered into the SDP,
 * so without this the peers would connect even if trickled candidates were never relayed.
 */
function withoutCandidates(sdp: string): string {
  return sdp.split('\r\n').filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates').join('\r\n');
}

/**
 * A real WebRTC peer (werift) driven only by our signaling: the host offers a data channel,
 * the guest answers, both trickle candidates (ending with `candidate: null`); the SDPs carry no
 * candidates, so the connection needs the trickled ones. Like a real client it reports its
 * connection state (`media-state`). Resolves with the open data channel.
 */
export function runPeer(client: SignalClient, role: 'host' | 'guest'): { channel: Promise<RTCDataChannel>; pc: RTCPeerConnection } {
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.connectionStateChange.subscribe((state) => {
    if (state !== 'new' && state !== 'closed' && client.isOpen) client.send({ type: 'media-state', data: { state } });
  });
  const pendingCandidates: Frame[] = [];
  let remoteSet = false;
  pc.onIceCandidate.subscribe((candidate) => {
    client.send({
      type: 'ice-candidate',
      data: { candidate: candidate ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid ?? null, sdpMLineIndex: candidate.sdpMLineIndex ?? null } : null },
    });
  });
  const addCandidate = async (f: Frame): Promise<void> => {
    if (f.data.candidate) await pc.addIceCandidate(f.data.candidate);
  };
  const channel = new Promise<RTCDataChannel>((resolve, reject) => {
    const fail = (err: unknown) => reject(err instanceof Error ? err : new Error(String(err)));
    const previous = client.onFrame;
    client.onFrame = (frame, raw) => {
      previous?.(frame, raw);
      (async () => {
        if (frame.type === 'ice-candidate') {
          if (remoteSet) await addCandidate(frame);
          else pendingCandidates.push(frame);
        } else if (frame.type === 'offer' && role === 'guest') {
          await pc.setRemoteDescription({ type: 'offer', sdp: frame.data.sdp });
          remoteSet = true;
          for (const c of pendingCandidates.splice(0)) await addCandidate(c);
          const answer = await pc.createAnswer();
          await pc.setLocalDescription(answer);
          client.send({ type: 'answer', data: { sdp: withoutCandidates(pc.localDescription!.sdp) } });
        } else if (frame.type === 'answer' && role === 'host') {
          await pc.setRemoteDescription({ type: 'answer', sdp: frame.data.sdp });
          remoteSet = true;
          for (const c of pendingCandidates.splice(0)) await addCandidate(c);
        }
      })().catch(fail);
    };
    if (role === 'host') {
      const dc = pc.createDataChannel('chat');
      dc.stateChanged.subscribe((state) => { if (state === 'open') resolve(dc); });
      (async () => {
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        client.send({ type: 'offer', data: { sdp: withoutCandidates(pc.localDescription!.sdp) } });
      })().catch(fail);
    } else {
      pc.onDataChannel.subscribe((dc) => {
        if (dc.readyState === 'open') resolve(dc);
        else dc.stateChanged.subscribe((state) => { if (state === 'open') resolve(dc); });
      });
    }
  });
  return { channel, pc };
}

/** Sends `text` over `from` and resolves with what `to` receives. */
export function exchange(from: RTCDataChannel, to: RTCDataChannel, text: string): Promise<string> {
  return new Promise((resolve) => {
    to.onMessage.subscribe((message) => resolve(message.toString()));
    from.send(text);
  });
}
